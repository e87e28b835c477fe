import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// Team admin: for whoever administers a team (today the org's owners and admins), one team at a time — its
/// members and their roles, invites, API tokens, projects, secrets, budget and effective policy. Every read and
/// change goes through the services, which authorize it against the team and record it in the org's trail;
/// another team's pages answer "not found", a team the person is in but does not administer "not allowed".
extension WebRoutes {
    struct TeamChoice: Sendable {
        var name: String
        var selected: Bool
    }

    /// The part every team admin page shares: the team, the switcher and which section is open.
    struct AdminFrame: Sendable {
        var team: String
        var teams: [TeamChoice]
        var several: Bool
        var isMembers: Bool
        var isInvites: Bool
        var isTokens: Bool
        var isProjects: Bool
        var isSecrets: Bool
        var isBudget: Bool
        var isPolicy: Bool
    }

    func addAdminRoutes(to group: RouterGroup<Context>) {
        group.get("/admin") { request, context in try await adminHome(request, context) }
        group.get("/admin/:team") { request, context in try await members(request, context) }
        group.post("/admin/:team/members") { request, context in try await changeMember(request, context) }
        group.get("/admin/:team/invites") { request, context in try await invitesPage(request, context) }
        group.post("/admin/:team/invites") { request, context in try await createInvite(request, context) }
        group.post("/admin/:team/invites/:invite/revoke") { request, context in
            try await revokeInvite(request, context)
        }
        group.get("/admin/:team/tokens") { request, context in try await tokensPage(request, context) }
        group.post("/admin/:team/tokens") { request, context in try await createToken(request, context) }
        group.post("/admin/:team/tokens/:token/revoke") { request, context in try await revokeToken(request, context) }
        group.get("/admin/:team/projects") { request, context in try await projectsPage(request, context) }
        group.post("/admin/:team/projects") { request, context in try await addProject(request, context) }
        group.get("/admin/:team/projects/:project") { request, context in try await projectPage(request, context) }
        group.post("/admin/:team/projects/:project") { request, context in try await updateProject(request, context) }
        group.post("/admin/:team/projects/:project/remove") { request, context in
            try await removeProject(request, context)
        }
        group.get("/admin/:team/secrets") { request, context in try await secretsPage(request, context) }
        group.post("/admin/:team/secrets") { request, context in try await setSecret(request, context) }
        group.post("/admin/:team/secrets/:secret/remove") { request, context in
            try await removeSecret(request, context)
        }
        group.get("/admin/:team/budget") { request, context in try await budgetPage(request, context) }
        group.post("/admin/:team/budget") { request, context in try await setBudget(request, context) }
        group.get("/admin/:team/policy") { request, context in try await policyPage(request, context) }
    }

    /// `/admin`: the team picked in the switcher, else the first team the person administers.
    func adminHome(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let teams = try await administeredTeams(person)
        if let wanted = request.uri.queryParameters.get("team").map { String($0) }, teams.contains(wanted) {
            return .redirect(to: "/admin/\(Self.pathPart(wanted))", type: .found)
        }
        guard let first = teams.first else {
            throw HTTPError(
                .forbidden,
                message: "You administer no team. An owner or admin of the organisation manages teams.")
        }
        return .redirect(to: "/admin/\(Self.pathPart(first))", type: .found)
    }

    /// The teams the person may administer, by name.
    func administeredTeams(_ person: SignedIn) async throws -> [String] {
        try await access.teams().map(\.name).filter { person.caller.administers($0) }.sorted()
    }

    /// The team of the path, checked by the service (another team: not found; one of the person's teams they do
    /// not administer: not allowed), with the frame of its pages.
    func adminFrame(_ person: SignedIn, _ context: Context, section: String) async throws -> (AdminFrame, TeamPeople) {
        guard let team = context.parameters.get("team") else { throw HTTPError(.notFound) }
        let people = try await access.people(ofTeam: team, by: person.caller)
        let teams = try await administeredTeams(person)
        let frame = AdminFrame(
            team: team, teams: teams.map { TeamChoice(name: $0, selected: $0 == team) }, several: teams.count > 1,
            isMembers: section == "members", isInvites: section == "invites", isTokens: section == "tokens",
            isProjects: section == "projects", isSecrets: section == "secrets", isBudget: section == "budget",
            isPolicy: section == "policy")
        return (frame, people)
    }

    /// Team, user and token names are limited to characters a path carries as they are; anything else is
    /// escaped rather than trusted.
    static func pathPart(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-_."))) ?? ""
    }

    /// What a change just did, said on the page it redirects to. Only these fixed sentences are shown: a link
    /// cannot put words of its own on the page.
    static func done(_ request: Request) -> String? {
        let sentences = [
            "role": "The role was changed.", "removed": "The member was removed from the team.",
            "added": "The member was added to the team.", "revoked": "It was revoked; it no longer works.",
            "project-added": "The project was added.", "project-saved": "The project was saved.",
            "project-removed": "The project was removed; sessions started from it go on.",
            "secret-set": "The secret was stored. Its value cannot be shown again, only replaced.",
            "secret-removed": "The secret was removed.", "budget": "The budget was saved.",
        ]
        return request.uri.queryParameters.get("done").flatMap { sentences[String($0)] }
    }

    static func redirect(_ team: String, _ section: String, done: String) -> Response {
        .redirect(to: "/admin/\(pathPart(team))\(section.isEmpty ? "" : "/" + section)?done=\(done)", type: .found)
    }

    // MARK: Members and roles

    struct RoleChoice: Sendable {
        var value: String
        var selected: Bool
    }

    struct MemberRow: Sendable {
        var name: String
        var role: String
        var roles: [RoleChoice]
        /// Whether the person may change this member's role here (org admins, not their own, not the owner's).
        var changeable: Bool
    }

    struct MembersPage: Sendable {
        var chrome: Chrome
        var admin: AdminFrame
        var members: [MemberRow]
        var others: [String]
        var hasOthers: Bool
        var done: String?
    }

    func members(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, people) = try await adminFrame(person, context, section: "members")
        let mayChangeRoles = person.principal.hasGlobal(.admin)
        let rows = people.members.map { account in
            MemberRow(
                name: account.name, role: account.role.rawValue,
                roles: Role.allCases.filter { $0 != .owner }.map {
                    RoleChoice(value: $0.rawValue, selected: $0 == account.role)
                },
                changeable: mayChangeRoles && account.role != .owner && account.name != person.principal.user)
        }
        let inTeam = Set(people.members.map(\.name))
        let others = mayChangeRoles ? try await access.users().map(\.name).filter { !inTeam.contains($0) } : []
        let page = MembersPage(
            chrome: try await chrome(person, tab: "admin"), admin: frame, members: rows, others: others,
            hasOthers: !others.isEmpty, done: Self.done(request))
        return try pages.page("admin-members", page)
    }

    /// One form per row: change the role, remove from the team, or (below the table) add someone.
    func changeMember(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "members")
        let form = try await FormFields.read(request)
        let user = try form.required("user", "The person")
        switch form["action"] {
        case "role":
            _ = try await access.setRole(
                user: user, role: try Role(parsing: try form.required("role", "The role")), by: person.caller)
            return Self.redirect(frame.team, "", done: "role")
        case "remove":
            _ = try await access.setMembership(team: frame.team, user: user, member: false, by: person.caller)
            return Self.redirect(frame.team, "", done: "removed")
        case "add":
            _ = try await access.setMembership(team: frame.team, user: user, member: true, by: person.caller)
            return Self.redirect(frame.team, "", done: "added")
        default:
            throw HTTPError(.badRequest, message: "Choose what to do with the member and send the form again.")
        }
    }
}
