/// Who asks a service for something: a person through one of the doors (REST, the E2B API, and the web UI,
/// previews, triggers and MCP to come), or Paddock itself (TTLs, idle pauses, recovery). Every service call
/// takes one explicitly, so the service — not the door — authorizes the call and names the actor in the audit
/// trail; a door cannot forget either.
public struct Caller: Sendable, Equatable, CustomStringConvertible {
    /// The person and what they may do; nil for Paddock itself.
    public let principal: Principal?
    /// Who the audit trail names.
    public let actor: AuditActor

    public init(_ principal: Principal) {
        self.principal = principal
        actor = principal.actor
    }

    private init(system actor: AuditActor) {
        principal = nil
        self.actor = actor
    }

    /// Paddock's own work: allowed everything, recorded as `system`.
    public static let system = Caller(system: .system)

    /// Someone who holds only a sandbox's unguessable id: E2B's code-interpreter SDK manages its contexts
    /// without credentials. Only the routes the E2B door leaves open act for one; the trail names it so.
    public static let sandboxIDHolder = Caller(system: AuditActor(user: "anonymous (sandbox id)", token: nil))

    /// A preview's visitor, once the preview service let them in: named in the trail as the person they signed
    /// in as (or `anonymous` for a public link's holder) with the share they came by. Allowed nothing else.
    public static func previewVisitor(user: String, share: String?) -> Caller {
        Caller(system: AuditActor(user: user, token: share.map { "preview:\($0)" } ?? "preview"))
    }

    public var description: String { actor.description }

    /// The user the caller acts as (`system` for Paddock itself).
    public var user: String { actor.user }

    /// Checks the caller may do `permission` on a session of `team`. A caller who may not see the team at all
    /// gets `hidden` (the not-found error of the thing asked about), so other teams' sessions stay invisible.
    public func authorize(_ permission: Permission, team: String?, hidden: @autoclosure () -> PaddockError) throws {
        guard let principal else { return }
        guard principal.canSee(team: team) else { throw hidden() }
        guard principal.permissions(onTeam: team).contains(permission) else {
            throw principal.denial(needs: permission, team: team)
        }
    }

    /// Checks the caller holds an org-wide permission (people, teams, limits, pools, emergency stop).
    public func authorizeOrg(_ permission: Permission) throws {
        guard let principal, !principal.hasGlobal(permission) else { return }
        throw principal.role.spansAllTeams
            ? principal.denial(needs: permission, team: nil)
            : PaddockError.permissionDenied(
                "only an owner or admin may do this; you are '\(principal.user)' (\(principal.role))")
    }
}

extension Principal {
    /// Says which of the three limits — role, token scope, team grant — stood in the way, and what to do.
    public func denial(needs: Permission, team: String?) -> PaddockError {
        if !role.ceiling.contains(needs) {
            return .permissionDenied(
                "'\(user)' is a \(role), and a \(role) may not \(needs) (only \(Permission.describe(role.ceiling)))"
                    + "; ask an admin if you need more")
        }
        if !scopes.contains(needs) {
            let wanted = Permission.describe(scopes.union([needs])).replacingOccurrences(of: " ", with: "")
            return .permissionDenied(
                "this token is scoped to \(Permission.describe(scopes)) and this needs '\(needs)'; create a token "
                    + "that includes it: `paddock tokens create --scopes \(wanted)`")
        }
        let granted = team.flatMap { teams[$0] } ?? []
        return .permissionDenied(
            "team '\(team ?? "-")' is granted \(Permission.describe(granted)) and this needs '\(needs)'; "
                + "ask an admin to grant it")
    }
}

extension Caller {
    /// Checks the caller may administer `team`: its people, invites, tokens, projects, secrets, budget and
    /// policy. Someone who may not see the team at all is told it does not exist, like another team's sessions.
    public func authorizeTeamAdmin(_ team: String) throws {
        try authorize(
            .admin, team: team,
            hidden: PaddockError.notFound("no team named '\(team)' that you administer; your teams are on /admin"))
    }

    /// Whether the caller may administer `team` (Paddock itself administers every team).
    public func administers(_ team: String) -> Bool {
        principal.map { $0.permissions(onTeam: team).contains(.admin) } ?? true
    }
}
