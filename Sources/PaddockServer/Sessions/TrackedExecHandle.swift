import PaddockInitProtocol
import PaddockSandbox

/// An exec handle that reports when its stream attaches and ends, so the session service knows a session
/// with a running, followed command is not idle. Events are relayed unchanged, with backpressure.
final class TrackedExecHandle: ExecHandle {
    let events: BackpressuredStream<ExecEvent>
    private let inner: any ExecHandle

    init(_ inner: any ExecHandle, changed: @escaping @Sendable (_ attached: Bool) async -> Void) {
        self.inner = inner
        events = BackpressuredStream { sink in
            await changed(true)
            do {
                for try await event in inner.events {
                    await sink.send(event)
                    try Task.checkCancellation()
                }
            } catch {
                await changed(false)
                throw error
            }
            await changed(false)
        }
    }

    func sendStdin(_ bytes: [UInt8]) async throws { try await inner.sendStdin(bytes) }
    func closeStdin() async throws { try await inner.closeStdin() }
    func signal(_ signal: Int32) async throws { try await inner.signal(signal) }
    func resize(_ size: TerminalSize) async throws { try await inner.resize(size) }
    func cancel() async {
        await inner.cancel()
        events.cancel()
    }
}
