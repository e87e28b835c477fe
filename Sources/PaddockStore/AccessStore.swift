import Foundation
import PaddockCore

/// People, teams, token owners and org-wide settings (limits, emergency stops). A separate protocol from
/// `Store` so the session store stays small; `SQLiteStore` implements both.
public protocol AccessStore: Sendable {
    /// `alreadyExists` if the name is taken.
    func insertUser(_ user: UserAccount) async throws
    func users() async throws -> [UserAccount]
    func user(_ name: String) async throws -> UserAccount?
    /// Removes the user, their team memberships, and revokes every token they hold. `notFound` if unknown.
    func removeUser(_ name: String, now: Date) async throws
    /// Gives the user another role; `notFound` if unknown. Their tokens keep their scopes, which the new role's
    /// ceiling narrows from then on.
    func setRole(user: String, role: Role) async throws

    /// `alreadyExists` if the name is taken.
    func insertTeam(_ team: TeamRecord) async throws
    func teams() async throws -> [TeamRecord]
    func team(_ name: String) async throws -> TeamRecord?
    /// Adds or removes a member; `notFound` naming what does not exist.
    func setMembership(team: String, user: String, member: Bool) async throws
    /// Sets (or, with nil, clears) a team's monthly agent budget in dollars; `notFound` for an unknown team.
    func setBudget(team: String, monthlyUSD: Double?) async throws

    /// Stores a token for `user` with `scopes`; only its hash is kept.
    func insertToken(_ token: StoredToken, user: String, scopes: Set<Permission>) async throws
    /// The caller behind a token that is neither revoked nor expired at `now`, with their teams.
    func principal(tokenHash: String, now: Date) async throws -> Principal?
    /// The principal of a live token, by its id.
    func principal(tokenID: String, now: Date) async throws -> Principal?
    /// Grows with every change to who may do what (users, roles, memberships, tokens, browser sessions): a
    /// permission checked while it had one value may be relied on while it keeps it.
    var accessEpoch: UInt64 { get }
    /// Tokens of one user, or of everyone; newest first.
    func tokens(user: String?) async throws -> [TokenRecord]
    func token(id: String) async throws -> TokenRecord?
    /// Marks the token revoked (idempotent); `notFound` if unknown.
    func revokeToken(id: String, now: Date) async throws -> TokenRecord

    func orgLimits() async throws -> OrgLimits
    func setOrgLimits(_ limits: OrgLimits) async throws
    func emergencyStops() async throws -> [EmergencyStop]
    func setEmergencyStop(_ stop: EmergencyStop) async throws
    /// Lifts the stop of one team, or (nil) every stop; returns how many were lifted.
    func liftEmergencyStops(team: String?) async throws -> Int
    /// Live (not destroyed, not failed) sessions of a team and of a user.
    func liveSessionCount(team: String?, user: String?) async throws -> Int
}
