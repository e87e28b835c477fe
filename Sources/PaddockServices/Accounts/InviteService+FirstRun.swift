import Foundation
import PaddockCore

extension InviteService {
    /// On a server nobody can sign in to yet (no account has a password), a fresh one-use link that creates the
    /// first admin account, replacing the one an earlier start made; nil once someone can sign in. What
    /// `make run` prints, so the first person in needs no terminal after it.
    public func firstAdminInvite() async throws -> CreatedInvite? {
        for user in try await store.users() where try await store.password(user: user.name) != nil { return nil }
        for earlier in try await list(by: .system)
        where earlier.createdBy == Caller.system.user && earlier.usedAt == nil && earlier.revokedAt == nil {
            _ = try await revoke(id: earlier.id, by: .system)
        }
        return try await create(role: .admin, ttl: .seconds(24 * 3600), by: .system)
    }
}
