import Foundation
import PaddockCore

/// Invites as one team's admins see them: only those that add someone to the team.
extension InviteService {
    /// The team's invites that can still be used, newest first.
    public func open(team: String, by caller: Caller) async throws -> [InviteRecord] {
        try caller.authorizeTeamAdmin(team)
        let now = clock()
        return try await store.invites().filter { $0.teams.contains(team) && $0.refusal(at: now) == nil }
            .sorted { $0.createdAt > $1.createdAt }
    }

    /// Revokes one of the team's invites; another team's answers like one that does not exist.
    public func revoke(id: String, team: String, by caller: Caller) async throws -> InviteRecord {
        try caller.authorizeTeamAdmin(team)
        guard try await store.invites().contains(where: { $0.id == id && $0.teams.contains(team) }) else {
            throw PaddockError.notFound("no invite '\(id)' for team \(team); the team's open invites are listed")
        }
        return try await revoke(id: id, by: caller)
    }
}
