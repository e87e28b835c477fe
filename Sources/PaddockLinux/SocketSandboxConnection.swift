#if os(Linux)
    import NIOCore
    import PaddockCore
    import PaddockSandbox
    import Synchronization

    /// A connection to a port inside a sandbox over a socket the host holds itself (init dialled it and handed it
    /// over). Reads are backpressured: NIO stops reading the socket while the consumer lags.
    final class SocketSandboxConnection: SandboxConnection {
        let inbound: BackpressuredStream<[UInt8]>
        private let output: Output

        /// The channel's writer while it is open.
        private final class Output: Sendable {
            enum State {
                case pending
                case open(NIOAsyncChannelOutboundWriter<ByteBuffer>)
                case closed
            }
            let state = Mutex(State.pending)
        }

        private init(inbound: BackpressuredStream<[UInt8]>, output: Output) {
            self.inbound = inbound
            self.output = output
        }

        /// Takes the channel over: it is used only inside the stream's producer task, which owns it until the
        /// stream ends. Returns once the channel can be written to.
        static func open(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async -> SocketSandboxConnection {
            let output = Output()
            let (ready, readySink) = AsyncStream<Void>.makeStream()
            let inbound = BackpressuredStream<[UInt8]>(executorPreference: ConnectionAffinity.executor) { sink in
                defer {
                    output.state.withLock { $0 = .closed }
                    readySink.finish()
                }
                try await channel.executeThenClose { inbound, outbound in
                    output.state.withLock { if case .pending = $0 { $0 = .open(outbound) } }
                    readySink.finish()
                    for try await buffer in inbound {
                        await sink.send(Array(buffer.readableBytesView))
                        try Task.checkCancellation()
                    }
                }
            }
            for await _ in ready {}
            return SocketSandboxConnection(inbound: inbound, output: output)
        }

        private var writer: NIOAsyncChannelOutboundWriter<ByteBuffer>? {
            output.state.withLock {
                if case .open(let writer) = $0 { return writer }
                return nil
            }
        }

        func write(_ bytes: [UInt8]) async throws {
            guard let writer else {
                throw PaddockError.conflict("the connection to the sandbox port is closed")
            }
            do { try await writer.write(ByteBuffer(bytes: bytes)) } catch {
                throw PaddockError.wrap(error, "the connection to the sandbox port is closed")
            }
        }

        func finishWriting() async { writer?.finish() }

        func close() async {
            output.state.withLock { $0 = .closed }
            await inbound.cancelAndWait()
        }

        deinit { inbound.cancel() }
    }
#endif
