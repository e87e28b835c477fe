import Synchronization

/// One holder per key at a time, held across suspension points: the lock that serializes a session's lifecycle
/// operations (create, pause, resume, snapshot, fork, destroy) across the provider calls that make them real.
///
/// Waiters are served in arrival order. A waiter whose task is cancelled leaves the queue and gets
/// `CancellationError`; the holder is never interrupted. Not reentrant: an operation that needs another one
/// of the same key calls the unlocked body of it instead of taking the lock twice.
public final class KeyedLock<Key: Hashable & Sendable>: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct Entry {
        var waiters: [Waiter] = []
    }

    private struct State {
        /// A key is held exactly while it has an entry; the entry queues who waits for it.
        var held: [Key: Entry] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Runs `body` while holding `key`.
    /// `body` runs on the caller's actor (`isolation`), so a service actor's state stays reachable inside it.
    public func withLock<T>(
        _ key: Key, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> sending T
    ) async throws -> sending T {
        try await acquire(key)
        defer { release(key) }
        return try await body()
    }

    /// Whether some operation holds `key` right now (for tests and diagnostics; racy by nature).
    public func isHeld(_ key: Key) -> Bool { state.withLock { $0.held[key] != nil } }

    /// How many operations wait for `key` right now (for tests and diagnostics; racy by nature).
    public func waiting(_ key: Key) -> Int { state.withLock { $0.held[key]?.waiters.count ?? 0 } }

    private func acquire(_ key: Key) async throws {
        try Task.checkCancellation()
        let ticket: UInt64? = state.withLock { state in
            guard state.held[key] != nil else {
                state.held[key] = Entry()
                return nil
            }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let ticket else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { state -> Bool in
                    // Released between the ticket and here: the key is ours now.
                    guard state.held[key] != nil else {
                        state.held[key] = Entry()
                        continuation.resume()
                        return false
                    }
                    if Task.isCancelled { return true }
                    state.held[key]?.waiters.append(Waiter(id: ticket, continuation: continuation))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.held[key]?.waiters.firstIndex(where: { $0.id == ticket }) else { return nil }
                return state.held[key]?.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Hands the key to the first waiter, or frees it.
    private func release(_ key: Key) {
        let next = state.withLock { state -> Waiter? in
            guard var entry = state.held[key] else { return nil }
            guard !entry.waiters.isEmpty else {
                state.held[key] = nil
                return nil
            }
            let first = entry.waiters.removeFirst()
            state.held[key] = entry
            return first
        }
        next?.continuation.resume()
    }
}
