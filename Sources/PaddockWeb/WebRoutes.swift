import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// The web UI, served by `paddock server` on the API's port: pages rendered on the server from the same
/// services the API uses (so every action is authorized and audited with the signed-in person as actor), a
/// little JavaScript for the live parts, no CDN, and a strict Content-Security-Policy.
public struct WebRoutes<Context: WebRequestContext>: Sendable {
    let pages: PageRenderer
    let authenticator: any WebAuthenticator
    let sessions: SessionService
    let runs: RunService?
    /// People and teams, for the org page.
    let access: AccessService
    /// Invites, for the team admin pages; nil when the server has no sign-in (tokens only).
    let invites: InviteService?
    /// The secrets vault, for the team admin pages; nil when the server has none.
    let vault: SecretVault?
    /// Previews on the session page; nil when the server serves none.
    public var previews: PreviewService?

    public init(
        pages: PageRenderer, authenticator: any WebAuthenticator, sessions: SessionService, runs: RunService?,
        access: AccessService, invites: InviteService? = nil, vault: SecretVault? = nil
    ) {
        self.pages = pages
        self.authenticator = authenticator
        self.sessions = sessions
        self.runs = runs
        self.access = access
        self.invites = invites
        self.vault = vault
    }

    public func addRoutes(to router: Router<Context>) {
        router.get("/assets/:file") { _, context in try Assets.response(for: context.parameters.get("file") ?? "") }
        // Browsers ask for it on every first visit; there is none.
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        addSignInRoutes(to: router)
        let signedIn = router.group()
            .add(middleware: WebErrorMiddleware<Context>(pages: pages))
            .add(middleware: WebSignInMiddleware<Context>(authenticator: authenticator))
        signedIn.get("/") { request, context in try await start(request, context) }
        signedIn.post("/start") { request, context in try await startChange(request, context) }
        signedIn.get("/sessions") { request, context in try await sessionList(request, context) }
        signedIn.get("/sessions/:id") { request, context in try await sessionPage(request, context) }
        signedIn.get("/sessions/:id/live") { request, context in try await sessionLive(request, context) }
        signedIn.post("/sessions/:id/prompt") { request, context in try await prompt(request, context) }
        signedIn.post("/sessions/:id/stop") { request, context in try await stop(request, context) }
        signedIn.get("/sessions/:id/audit") { request, context in try await auditPage(request, context) }
        signedIn.get("/sessions/:id/runs/:run") { request, context in try await replay(request, context) }
        signedIn.get("/sessions/:id/audit.jsonl") { request, context in try await auditExport(request, context) }
        signedIn.get("/sessions/:id/changes") { request, context in try await changes(request, context) }
        signedIn.post("/sessions/:id/submit") { request, context in try await submit(request, context) }
        signedIn.get("/approvals") { request, context in try await approvals(request, context) }
        signedIn.get("/approvals/live") { request, context in try await approvalsLive(request, context) }
        signedIn.post("/approvals/:id") { request, context in try await answer(request, context) }
        signedIn.get("/org") { request, context in try await org(request, context) }
        signedIn.post("/org/stop") { request, context in try await stopAll(request, context) }
        signedIn.post("/org/lift") { request, context in try await lift(request, context) }
        addAdminRoutes(to: signedIn)
        signedIn.get("/reviews") { request, context in try await reviews(request, context) }
        signedIn.get("/reviews/:id") { request, context in try await review(request, context) }
        signedIn.post("/reviews/:id/:decision") { request, context in try await decide(request, context) }
        addPreviewRoutes(to: signedIn)
    }

    func sessionID(_ context: Context) throws -> SessionID {
        guard let raw = context.parameters.get("id"), let id = SessionID(rawValue: raw) else {
            throw HTTPError(.notFound, message: "There is no such session.")
        }
        return id
    }
}

/// What every page's layout shows: who is signed in, the token its forms carry, and which tab is open.
struct Chrome: Sendable {
    var user: String
    var csrf: String
    // Stored, not computed: templates read values by reflection, which sees stored properties only.
    var isStart: Bool
    var isSessions: Bool
    var isApprovals: Bool
    var isReviews: Bool
    var isOrg: Bool
    var isTeamAdminTab: Bool
    /// Owners and admins see the org page.
    var isAdmin: Bool
    /// Whoever administers a team sees the team admin pages.
    var isTeamAdmin: Bool
    /// The emergency stop in force over what the person sees, shown on every page while it lasts.
    var stop: String?

    init(_ person: SignedIn, tab: String, stop: String? = nil) {
        user = person.principal.user
        csrf = person.csrfToken
        (isStart, isSessions, isApprovals, isReviews, isOrg, isTeamAdminTab) = (
            tab == "start", tab == "sessions", tab == "approvals", tab == "reviews", tab == "org", tab == "admin"
        )
        isAdmin = person.principal.role.spansAllTeams
        let principal = person.principal
        isTeamAdmin =
            principal.hasGlobal(.admin)
            || principal.teams.keys.contains { principal.permissions(onTeam: $0).contains(.admin) }
        self.stop = stop
    }
}

extension WebRoutes {
    /// The layout's part of a page, with the emergency stop that covers the person's teams, if one is in force.
    func chrome(_ person: SignedIn, tab: String) async throws -> Chrome {
        let stops = try await EmergencyStopService(sessions: sessions).stops().filter {
            $0.team.map { person.principal.canSee(team: $0) } ?? true
        }
        let stop = stops.first.map { stop in
            "Emergency stop in force\(stop.team.map { " for team \($0)" } ?? " for every team") since "
                + "\(Self.day.string(from: stop.at)) (by \(stop.by)): no session starts until it is lifted."
        }
        return Chrome(person, tab: tab, stop: stop)
    }
}
