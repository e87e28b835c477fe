import PaddockCore
import Synchronization

/// A wait that a signal cuts short: the automation loop waits for its next schedule tick or outbox attempt,
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
        await withTaskCancellationHandler {
            let signalled = Task { await self.signalled() }
            guard await !finishes(signalled, within: .seconds(seconds)) else { return }
            // The deadline came first: release the wait still parked, and forget that this release was a signal.
            signal()
            await signalled.value
            state.withLock { $0.signalled = false }
        } onCancel: {
            // The service is stopping: a signal ends the wait at once.
            signal()
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
