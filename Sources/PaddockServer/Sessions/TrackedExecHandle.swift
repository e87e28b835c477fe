import PaddockInitProtocol
import PaddockSandbox

/// An exec handle that reports when its stream attaches and ends, so the session service knows a session
/// with a running, followed command is not idle. Events are relayed unchanged.
final class TrackedExecHandle: ExecHandle {
    let events: AsyncThrowingStream<ExecEvent, any Error>
    private let inner: any ExecHandle
    private let relay: Task<Void, Never>

    init(_ inner: any ExecHandle, changed: @escaping @Sendable (_ attached: Bool) async -> Void) {
        self.inner = inner
        let (events, sink) = AsyncThrowingStream<ExecEvent, any Error>.makeStream()
        self.events = events
        relay = Task {
            await changed(true)
            do {
                for try await event in inner.events { sink.yield(event) }
                sink.finish()
            } catch {
                sink.finish(throwing: error)
            }
            await changed(false)
        }
        sink.onTermination = { [relay] _ in relay.cancel() }
    }

    func sendStdin(_ bytes: [UInt8]) async throws { try await inner.sendStdin(bytes) }
    func closeStdin() async throws { try await inner.closeStdin() }
    func signal(_ signal: Int32) async throws { try await inner.signal(signal) }
    func resize(_ size: TerminalSize) async throws { try await inner.resize(size) }
    func cancel() async {
        await inner.cancel()
        relay.cancel()
    }
}
