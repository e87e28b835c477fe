import Synchronization

/// A sleep that a signal cuts short: the automation loop waits for its next schedule tick or outbox attempt,
/// and an event that queues something sooner wakes it. A signal sent while nobody waits is kept for the next
/// wait, so none is lost between two waits.
final class Wakeup: Sendable {
    private struct State {
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.signalled = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns after `seconds`, at a signal, or when the task is cancelled, whichever comes first.
    func wait(upTo seconds: Double) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // The time of the next tick or retry: a deadline, not a poll. Cancelled when a signal comes first
                // or the service stops; either way the wait is over, which is all this task says.
                do { try await Task.sleep(for: .seconds(seconds)) } catch { return }
            }
            group.addTask { await self.signalled() }
            _ = await group.next()
            group.cancelAll()
            // The signal side does not end on cancellation by itself: release it.
            self.signal()
            await group.waitForAll()
            self.state.withLock { $0.signalled = false }
        }
    }

    private func signalled() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.signalled {
                    state.signalled = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
