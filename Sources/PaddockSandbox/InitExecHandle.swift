import PaddockCore
import PaddockInitProtocol
import Synchronization

/// A command running under paddock-init, followed over its own connection. Closing the connection (cancel)
/// makes init kill a non-detached command, so an abandoned exec never leaves work behind.
///
/// One task reads the connection and hands each event to the consumer; controls (stdin, signals, resizes) are
/// written straight to the connection by their caller, so no task or queue stands between them.
final class InitExecHandle: ExecHandle {
    let events: BackpressuredStream<ExecEvent>
    private let controls: Controls

    /// Opens the connection, sends `request` (spawn or attach) and returns once init has started the process; a
    /// failure to start (command not found, bad cwd) is thrown here, not streamed.
    static func start(
        _ transport: any InitTransport, _ request: WireMessage,
        outOfMemoryKills: @escaping @Sendable () -> UInt64
    ) async throws -> InitExecHandle {
        let controls = Controls()
        let (started, startedSink) = AsyncThrowingStream<Int32, any Error>.makeStream()
        let oomBefore = outOfMemoryKills()

        let events = BackpressuredStream<ExecEvent> { sink in
            defer { controls.close() }
            do {
                try await transport.withConnection { connection in
                    var frames = InitFrames(connection)
                    try await frames.send(request)
                    let first = try await frames.expectReply("starting the command")
                    guard case .started(let pid) = first else {
                        throw PaddockError.internal("the sandbox answered a start with \(first)")
                    }
                    controls.open(connection.writer)
                    startedSink.yield(pid)
                    startedSink.finish()
                    await sink.send(.started(pid: pid))
                    // Each send waits for the consumer; meanwhile frames stay unread, the socket fills, and
                    // paddock-init stops reading the process's pipes.
                    while let message = try await frames.receive() {
                        try Task.checkCancellation()
                        switch message {
                        case .stdout(let bytes): await sink.send(.stdout(bytes))
                        case .stderr(let bytes): await sink.send(.stderr(bytes))
                        case .exited(let code, let signal):
                            let oom = signal == 9 && outOfMemoryKills() > oomBefore
                            await sink.send(
                                .exited(ExitStatus(code: code, signal: signal == 0 ? nil : signal, outOfMemory: oom)))
                            // The consumer's loop ends now; closing the connection is not its wait.
                            sink.finish()
                            return
                        case .failure(let code, _, let text):
                            throw PaddockError(wireCode: code, message: text)
                        default:
                            continue
                        }
                    }
                    throw PaddockError.unavailable("the sandbox stopped while the command was running")
                }
            } catch {
                startedSink.finish(throwing: error)
                throw Self.describe(error)
            }
        }
        let handle = InitExecHandle(events: events, controls: controls)
        do {
            for try await _ in started { break }
            return handle
        } catch {
            await handle.cancel()
            throw error
        }
    }

    private init(events: BackpressuredStream<ExecEvent>, controls: Controls) {
        self.events = events
        self.controls = controls
    }

    private static func describe(_ error: any Error) -> any Error {
        if error is CancellationError { return PaddockError(.unavailable, "the command was cancelled") }
        return PaddockError.wrap(error, "the connection to the sandbox failed")
    }

    func sendStdin(_ bytes: [UInt8]) async throws {
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + wireChunkSize)
            try await controls.send(.stdin(Array(bytes[offset..<end])))
            offset = end
        }
    }
    func closeStdin() async throws { try await controls.send(.closeStdin) }
    func signal(_ signal: Int32) async throws { try await controls.send(.signal(signal)) }
    func resize(_ size: TerminalSize) async throws { try await controls.send(.resize(size)) }

    func cancel() async {
        controls.cancel()
        await events.cancelAndWait()
    }

    deinit {
        controls.cancel()
        events.cancel()
    }

    /// Where controls go: the connection's writer while the command runs.
    final class Controls: Sendable {
        enum State: Sendable {
            case starting
            case open(any InitWriter)
            /// The connection is closed: the command exited or the sandbox went away.
            case closed
            /// The caller stopped following the command.
            case cancelled
        }

        private let state = Mutex(State.starting)

        func open(_ writer: any InitWriter) {
            state.withLock { if case .starting = $0 { $0 = .open(writer) } }
        }
        func close() {
            state.withLock { if case .cancelled = $0 {} else { $0 = .closed } }
        }
        func cancel() { state.withLock { $0 = .cancelled } }

        /// A control for a command that has exited is dropped, as init would drop it: a client's `close_stdin`
        /// often arrives just after a short command's exit, and that is no error. After `cancel` it is one.
        func send(_ message: WireMessage) async throws {
            let writer: (any InitWriter)? = try state.withLock { state in
                switch state {
                case .open(let writer): return writer
                case .starting, .closed: return nil
                case .cancelled: throw PaddockError.conflict("the command has already finished")
                }
            }
            guard let writer else { return }
            do { try await writer.write(message.framed()) } catch {
                // Lost the race with the exit: the connection closed between the check and the write.
                if state.withLock({ if case .open = $0 { true } else { false } }) {
                    throw PaddockError.wrap(error, "the connection to the sandbox failed")
                }
            }
        }
    }
}
