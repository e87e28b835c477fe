import Foundation
import Hummingbird
import PaddockCore
import PaddockServices
import PaddockStore

/// Decides whether a caller may do what a request asks. Every `/v1` route is classified here, from its method
/// and path alone (`requirement`), so no handler can forget a check: a route missing from the table needs the
/// `admin` permission until it is added.
struct RouteAuthorizer: Sendable {
    let access: any AccessStore
    let sessions: SessionService
    /// Resolves a run to its session for `.run` requirements.
    var runs: RunService?

    /// What a request needs.
    enum Requirement: Equatable, Sendable {
        /// No token (the health check).
        case open
        /// Any valid token; the handler narrows what is shown (session lists, one's own tokens).
        case authenticated
        /// An org-wide permission: owners and admins only.
        case org(Permission)
        /// A permission on the team the session belongs to. Callers who may not see the team get 404.
        case session(String, Permission)
        /// A permission on the team of the session an approval request came from.
        case approval(String, Permission)
        /// A permission on the team of the session a snapshot was taken from.
        case snapshot(String, Permission)
        /// A permission on the team of the run's session; like `session`, others get 404.
        case run(String, Permission)
    }

    static func requirement(method: HTTPRequest.Method, path: String) -> Requirement {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        // Outside /v1 are the web UI's pages and assets: they sign people in with a browser session, each page
        // group behind the web's own sign-in middleware (WebRoutes), not with bearer tokens.
        // The MCP door: any valid token; each tool is authorized by the service it reaches.
        if parts.first == "mcp" { return .authenticated }
        guard parts.first == "v1" else { return .open }
        let read = method == .get || method == .head
        switch parts.dropFirst().first {
        case "health": return .open
        case "me", "tokens": return .authenticated
        case "sessions":
            guard parts.count >= 3 else { return .authenticated }
            let id = parts[2]
            switch parts.count > 3 ? parts[3] : nil {
            case "exec": return .session(id, .write)
            case "approvals": return .session(id, read ? .read : .approve)
            case "submit": return .session(id, read ? .read : .submit)
            default: return .session(id, read ? .read : .write)
            }
        case "approvals":
            // The list is narrowed to the caller's teams by the handler.
            guard parts.count >= 3 else { return read ? .authenticated : .org(.admin) }
            return .approval(parts[2], read ? .read : .approve)
        case "snapshots":
            guard parts.count >= 3 else { return read ? .authenticated : .org(.admin) }
            return .snapshot(parts[2], read ? .read : .write)
        // A review's path names the review, not its session: ReviewController checks the session's team.
        case "reviews": return .authenticated
        case "runs": return parts.count >= 3 ? .run(parts[2], read ? .read : .write) : .authenticated
        case "usage": return .authenticated
        // Live resources of the sessions the caller can see: narrowed to the caller's teams by ResourceMonitor.
        case "resources" where read: return .authenticated
        // Shares are narrowed to the caller's teams, and a revoke checks the share's session, by PreviewService.
        case "previews": return .authenticated
        case "pools", "limits", "templates": return read ? .authenticated : .org(.admin)
        // Reads are narrowed to the caller's teams, and a project's sessions are started on one of them that the
        // caller may write to, by ProjectService; changing projects is for admins.
        // Who may see, change and run an automation is decided by AutomationService from the automation's team.
        case "automations": return .authenticated
        case "projects": return read || (parts.count == 4 && parts[3] == "sessions") ? .authenticated : .org(.admin)
        // A team's members may read its budget (the handler checks membership); setting it is for admins.
        case "teams" where read && parts.count == 4 && parts[3] == "budget": return .authenticated
        case "users", "teams": return .org(read ? .read : .admin)
        default: return .org(.admin)
        }
    }

    func authorize(_ principal: Principal, _ requirement: Requirement) async throws {
        switch requirement {
        case .open, .authenticated: return
        case .org(let permission):
            try Caller(principal).authorizeOrg(permission)
        case .run(let raw, let permission):
            let missing = PaddockError.notFound("run \(raw) does not exist; `paddock runs list` shows the runs")
            guard let runs else { throw missing }
            let run: Run
            do { run = try await runs.get(raw) } catch let e as PaddockError where e.code == .notFound { throw missing }
            try await authorize(principal, .session(run.session.rawValue, permission))
        case .session(let raw, let permission):
            guard let id = SessionID(rawValue: raw) else {
                throw PaddockError.notFound("session \(raw) does not exist (ids are lowercase letters and digits)")
            }
            // The service's own check: another team's session answers exactly like one that does not exist.
            _ = try await sessions.get(id, for: Caller(principal), needs: permission)
        case .approval(let id, let permission):
            let missing = PaddockError.notFound(
                "approval \(id) does not exist; `paddock approvals list` shows open ones")
            guard let approval = try await sessions.guardrails.approvals.approval(id) else { throw missing }
            // Sessions stay in the store after they end, so an approval's session is always there to ask.
            let team = try await sessions.get(approval.session).team
            try Caller(principal).authorize(permission, team: team, hidden: missing)
        case .snapshot(let idOrName, let permission):
            _ = try await SnapshotService(sessions: sessions).get(idOrName, for: Caller(principal), needs: permission)
        }
    }

    /// The team a new session of this caller belongs to: the one asked for (which the caller must be able to
    /// write to), else the caller's only team, else — for owners and admins — none.
    func teamForCreate(_ principal: Principal, requested: String?) async throws -> String? {
        if let requested {
            guard try await access.team(requested) != nil else {
                throw PaddockError.notFound("team '\(requested)' does not exist; `paddock teams list` shows the teams")
            }
            guard principal.role.spansAllTeams || principal.teams[requested] != nil else {
                throw PaddockError.permissionDenied(
                    "'\(principal.user)' is not in team '\(requested)'; an admin can add you with "
                        + "`paddock teams members add \(requested) \(principal.user)`")
            }
            guard principal.permissions(onTeam: requested).contains(.write) else {
                throw principal.denial(needs: .write, team: requested)
            }
            return requested
        }
        let writable = principal.teams.keys.filter { principal.permissions(onTeam: $0).contains(.write) }.sorted()
        if writable.count == 1 { return writable[0] }
        if writable.count > 1 {
            throw PaddockError.invalidArgument(
                "you are in several teams (\(writable.joined(separator: ", "))); pass --team to say which one the "
                    + "session belongs to")
        }
        if principal.role.spansAllTeams, principal.scopes.contains(.write) { return nil }
        if !principal.teams.isEmpty {
            throw principal.denial(needs: .write, team: principal.teams.keys.sorted()[0])
        }
        throw PaddockError.permissionDenied(
            "'\(principal.user)' is in no team, and sessions belong to a team; an admin can add you with "
                + "`paddock teams members add TEAM \(principal.user)`")
    }
}
