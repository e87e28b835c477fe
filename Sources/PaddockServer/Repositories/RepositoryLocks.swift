import PaddockCore
import Synchronization

/// Sessions whose server-side clone is in use (a diff, a submit): one operation per clone at a time.
final class RepositoryLocks: Sendable {
    private let held = Mutex<Set<SessionID>>([])

    /// Takes the clone of `id`, or says it is busy.
    func acquire(_ id: SessionID) throws(PaddockError) {
        let taken = held.withLock { $0.insert(id).inserted }
        guard taken else {
            throw .conflict("a diff or submit of session \(id) is already running; try again when it has finished")
        }
    }

    func release(_ id: SessionID) { _ = held.withLock { $0.remove(id) } }
}
