import PaddockCore
import Synchronization

/// The sessions this server read lately, so a call does not read and decode the row it read a moment ago: every
/// exec, file operation and `/v1/sessions/{id}` request starts with its session (for its team, state and policy).
/// An entry holds while no session was written since it was read — every session write goes through the store's
/// `insertSession` or `updateSession`, which move its `sessionEpoch` — so a state change, a destroy or a policy
/// change is what the next read sees. Only the row is kept, never a decision: the caller is authorized against
/// it on every call, as their access is at that call.
final class KnownSessions: Sendable {
    private struct Entry {
        let session: Session
        let epoch: UInt64
    }

    /// Plenty for a node's live sessions; past it the memory starts over rather than grow with every session.
    static let capacity = 4096

    private let entries = Mutex<[SessionID: Entry]>([:])

    /// The session as read while the store's session epoch was `epoch`, or nil when a session was written since.
    func session(_ id: SessionID, epoch: UInt64) -> Session? {
        entries.withLock { entries in
            guard let entry = entries[id] else { return nil }
            guard entry.epoch == epoch else {
                entries[id] = nil
                return nil
            }
            return entry.session
        }
    }

    /// `epoch` is the store's session epoch from *before* the read: a write that lands while the row is read moves
    /// the epoch past it, so the entry is out of date at once rather than outliving the write.
    func remember(_ session: Session, epoch: UInt64) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[session.id] = Entry(session: session, epoch: epoch)
        }
    }
}
