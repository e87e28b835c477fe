import Foundation

/// Who is calling the API: a person, the token they used, what that token may do, and their teams.
///
/// What the caller may do on a team's sessions is the intersection of three things: their role's ceiling,
/// the token's scopes, and — for members and viewers — what the team is granted. Owners and admins act on
/// every team (and on sessions that belong to no team); everyone else only on the teams they are in.
public struct Principal: Sendable, Equatable {
    public var user: String
    public var role: Role
    public var tokenID: String
    /// The token's scopes, already narrowed to the role's ceiling.
    public var scopes: Set<Permission>
    /// Team name → what the team is granted, for every team the user is in.
    public var teams: [String: Set<Permission>]
    /// When the token stops working (nil: never), so a principal kept in memory is not used past it.
    public var tokenExpiresAt: Date?

    public init(user: String, role: Role, tokenID: String, scopes: Set<Permission>, teams: [String: Set<Permission>]) {
        self.user = user
        self.role = role
        self.tokenID = tokenID
        self.scopes = scopes.intersection(role.ceiling)
        self.teams = teams
    }

    /// What the caller may do on the sessions of `team` (nil: sessions that belong to no team).
    public func permissions(onTeam team: String?) -> Set<Permission> {
        if role.spansAllTeams { return scopes }
        guard let team, let granted = teams[team] else { return [] }
        return scopes.intersection(granted)
    }

    /// Whether the caller may know the sessions of `team` exist at all. Others get 404, not 403.
    public func canSee(team: String?) -> Bool { !permissions(onTeam: team).isEmpty }

    /// Org-wide permissions (people, teams, limits, emergency stop): only owners and admins have any.
    public func hasGlobal(_ permission: Permission) -> Bool { role.spansAllTeams && scopes.contains(permission) }

    /// Who this is, as the audit trail records it.
    public var actor: AuditActor { AuditActor(user: user, token: tokenID) }
}
