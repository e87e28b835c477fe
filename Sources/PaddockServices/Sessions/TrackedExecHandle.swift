import PaddockInitProtocol
import PaddockSandbox
import Synchronization

/// An exec handle that reports when its stream ends, so the session service knows a session with a running,
/// followed command is not idle. The caller counts the stream as attached *before* the command can run
/// (a slow consumer must not leave a window in which the idle reaper freezes a followed command); this
/// handle reports the detach exactly once: when the stream ends, when it is cancelled, or when it is dropped
/// unread. It watches the inner stream in the consumer's task; events pass unchanged, with backpressure.
final class TrackedExecHandle: ExecHandle {
    let events: BackpressuredStream<ExecEvent>
    private let inner: any ExecHandle
    private let detach: Detach

    /// Calls `changed(false)` at most once.
    final class Detach: Sendable {
        private let done = Mutex(false)
        private let changed: @Sendable (_ attached: Bool) async -> Void
        init(_ changed: @escaping @Sendable (_ attached: Bool) async -> Void) { self.changed = changed }
        func run() async {
            let first = done.withLock { done in
                defer { done = true }
                return !done
            }
            if first { await changed(false) }
        }
    }

    /// `failed` hears why the stream broke (a sandbox that died under its command, for one).
    init(
        _ inner: any ExecHandle, changed: @escaping @Sendable (_ attached: Bool) async -> Void,
        failed: @escaping @Sendable (any Error) async -> Void = { _ in }
    ) {
        self.inner = inner
        let detach = Detach(changed)
        self.detach = detach
        events = inner.events.observed(
            each: { _ in }, finished: { await detach.run() },
            failed: { error in
                await detach.run()
                await failed(error)
            })
    }

    deinit {
        let detach = self.detach
        Task { await detach.run() }
    }

    func sendStdin(_ bytes: [UInt8]) async throws { try await inner.sendStdin(bytes) }
    func closeStdin() async throws { try await inner.closeStdin() }
    func signal(_ signal: Int32) async throws { try await inner.signal(signal) }
    func resize(_ size: TerminalSize) async throws { try await inner.resize(size) }
    func cancel() async {
        await inner.cancel()
        await detach.run()
    }
}
