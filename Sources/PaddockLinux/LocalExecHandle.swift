#if os(Linux)
    import NIOCore
    import PaddockCore
    import PaddockInitProtocol
    import PaddockSandbox

    /// A command running under paddock-init, followed over its own connection. Closing the connection (cancel)
    /// makes init kill a non-detached command, so an abandoned exec never leaves work behind.
    final class LocalExecHandle: ExecHandle {
        let events: BackpressuredStream<ExecEvent>
        private let controls: AsyncStream<WireMessage>.Continuation

        /// Opens the connection, sends `request` (spawn or attach) and returns once init has started the
        /// process; a failure to start (command not found, bad cwd) is thrown here, not streamed.
        static func start(
            socketPath: String, request: WireMessage, oomKills: @escaping @Sendable () -> UInt64
        ) async throws -> LocalExecHandle {
            let (controls, controlSink) = AsyncStream<WireMessage>.makeStream()
            let (started, startedSink) = AsyncThrowingStream<Int32, any Error>.makeStream()
            let oomBefore = oomKills()

            let events = BackpressuredStream<ExecEvent> { sink in
                do {
                    try await InitChannel.with(socketPath: socketPath) { channel in
                        try await channel.send(request)
                        let first = try await channel.expectReply("starting the command")
                        guard case .started(let pid) = first else {
                            throw PaddockError.internal("the sandbox answered a start with \(first)")
                        }
                        startedSink.yield(pid)
                        startedSink.finish()
                        await sink.send(.started(pid: pid))
                        let writer = channel.writer
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                for await control in controls {
                                    try await writer.write(ByteBuffer(bytes: control.framed()))
                                }
                            }
                            defer { group.cancelAll() }
                            // Each send waits for the consumer; meanwhile frames stay unread, the socket
                            // fills, and paddock-init stops reading the process's pipes.
                            while let message = try await channel.receive() {
                                try Task.checkCancellation()
                                switch message {
                                case .stdout(let bytes): await sink.send(.stdout(bytes))
                                case .stderr(let bytes): await sink.send(.stderr(bytes))
                                case .exited(let code, let signal):
                                    let oom = signal == 9 && oomKills() > oomBefore
                                    await sink.send(
                                        .exited(
                                            ExitStatus(code: code, signal: signal == 0 ? nil : signal, outOfMemory: oom)
                                        ))
                                    return
                                case .failure(let code, _, let text):
                                    throw PaddockError(wireCode: code, message: text)
                                default:
                                    continue
                                }
                            }
                            throw PaddockError.unavailable("the sandbox stopped while the command was running")
                        }
                    }
                } catch {
                    startedSink.finish(throwing: error)
                    throw Self.describe(error)
                }
            }
            let handle = LocalExecHandle(events: events, controls: controlSink)
            do {
                for try await _ in started { break }
                return handle
            } catch {
                await handle.cancel()
                throw error
            }
        }

        private init(events: BackpressuredStream<ExecEvent>, controls: AsyncStream<WireMessage>.Continuation) {
            self.events = events
            self.controls = controls
        }

        private static func describe(_ error: any Error) -> any Error {
            if error is CancellationError { return PaddockError(.unavailable, "the command was cancelled") }
            return PaddockError.wrap(error, "the connection to the sandbox failed")
        }

        private func control(_ m: WireMessage) throws {
            if case .terminated = controls.yield(m) {
                throw PaddockError.conflict("the command has already finished")
            }
        }

        func sendStdin(_ bytes: [UInt8]) async throws {
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + wireChunkSize)
                try control(.stdin(Array(bytes[offset..<end])))
                offset = end
            }
        }
        func closeStdin() async throws { try control(.closeStdin) }
        func signal(_ signal: Int32) async throws { try control(.signal(signal)) }
        func resize(_ size: TerminalSize) async throws { try control(.resize(size)) }

        func cancel() async {
            controls.finish()
            await events.cancelAndWait()
        }

        deinit {
            controls.finish()
            events.cancel()
        }
    }
#endif
