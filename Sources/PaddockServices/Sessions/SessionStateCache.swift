import PaddockCore
import Synchronization

/// The state of each session as this server last stored or read it, so a path taken on every request (a
/// preview's) asks memory instead of SQLite. Every state write of `SessionService` sets it after the store
/// accepted the write, and a failed write forgets the entry; a read fills only an empty entry, so it never
/// overwrites a newer write that raced it.
final class SessionStateCache: Sendable {
    private let states = Mutex<[SessionID: SessionState]>([:])

    func state(of id: SessionID) -> SessionState? { states.withLock { $0[id] } }

    /// After a store write of `state`.
    func stored(_ id: SessionID, _ state: SessionState) { states.withLock { $0[id] = state } }

    /// After a store read: fills the entry unless a write set one meanwhile.
    func read(_ id: SessionID, _ state: SessionState) {
        states.withLock { if $0[id] == nil { $0[id] = state } }
    }

    /// After a store write that failed: the row is whatever the store says.
    func forget(_ id: SessionID) { _ = states.withLock { $0.removeValue(forKey: id) } }
}
