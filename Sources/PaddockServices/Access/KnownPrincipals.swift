import Foundation
import PaddockCore
import Synchronization

/// The callers behind tokens that authenticated lately, so a request does not read the store to learn what it
/// learnt a moment ago. An entry holds while nothing about access changed — every change to who may do what
/// (a revoked token, a removed user, a new role or team membership) goes through the store's `changeAccess` and
/// moves its `accessEpoch` — and until the token expires. Unknown tokens are never kept: a token issued a moment
/// after a miss must work at once.
final class KnownPrincipals: Sendable {
    private struct Entry {
        let principal: Principal
        let epoch: UInt64
    }

    /// Plenty for a team's tokens and agents; past it the memory starts over rather than grow with every token.
    static let capacity = 4096

    private let entries = Mutex<[String: Entry]>([:])

    func principal(_ tokenHash: String, epoch: UInt64, now: Date) -> Principal? {
        entries.withLock { entries in
            guard let entry = entries[tokenHash] else { return nil }
            guard entry.epoch == epoch, entry.principal.tokenExpiresAt.map({ now < $0 }) ?? true else {
                entries[tokenHash] = nil
                return nil
            }
            return entry.principal
        }
    }

    func remember(_ principal: Principal, _ tokenHash: String, epoch: UInt64) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[tokenHash] = Entry(principal: principal, epoch: epoch)
        }
    }
}
