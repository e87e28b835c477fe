#if os(Linux)
    import CPaddockShim
    import Dispatch
    import Glibc
    import PaddockCore
    import PaddockSandbox
    import Synchronization

    extension LocalProvider {
        /// Waits for the sandbox's process (the container's init, or gVisor's sandbox process) to exit, up to
        /// `limit`: its pidfd turns readable when it does. True when it has exited, or no such process runs.
        public nonisolated func exited(_ id: SessionID, within limit: Duration) async -> Bool {
            guard let pid = await runtime.state(id: id.rawValue)?.pid, pid > 0 else { return true }
            let fd = paddock_pidfd_open(pid)
            guard fd >= 0 else { return errno == ESRCH }
            let wait = ProcessExitWait(pidfd: fd)
            let exit = Task { await wait.value }
            defer { wait.stop() }
            return await finishes(exit, within: limit)
        }

    }

    /// One wait on a pidfd: answers once, when the process exits or when stopped, and then closes the pidfd.
    /// Unchecked: the dispatch source is the one non-Sendable part, and dispatch sources may be cancelled from any
    /// thread; everything else is behind the mutex.
    final class ProcessExitWait: @unchecked Sendable {
        private struct State {
            var continuation: CheckedContinuation<Void, Never>?
            var done = false
        }
        private let state = Mutex(State())
        private let source: any DispatchSourceRead

        init(pidfd: Int32) {
            source = DispatchSource.makeReadSource(fileDescriptor: pidfd, queue: .global())
            source.setCancelHandler { close(pidfd) }
            source.setEventHandler { [weak self] in self?.stop() }
            source.resume()
        }

        /// Returns when the process has exited, or the wait was stopped.
        var value: Void {
            get async {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state -> Bool in
                        guard !state.done else { return true }
                        state.continuation = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            }
        }

        func stop() {
            let ended = state.withLock { state -> CheckedContinuation<Void, Never>?? in
                guard !state.done else { return nil }
                state.done = true
                defer { state.continuation = nil }
                return state.continuation
            }
            guard let continuation = ended else { return }
            source.cancel()
            continuation?.resume()
        }
    }
#endif
