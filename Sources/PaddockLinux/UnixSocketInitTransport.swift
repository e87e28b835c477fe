#if os(Linux)
    import NIOCore
    import NIOPosix
    import PaddockCore
    import PaddockSandbox

    /// Reaches a sandbox's paddock-init through its control socket on the host (local and gVisor sandboxes: the
    /// socket's directory is bind-mounted into the sandbox, where init listens).
    struct UnixSocketInitTransport: InitTransport {
        let socketPath: String

        func withConnection<T: Sendable>(_ body: (any InitConnection) async throws -> T) async throws -> T {
            let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
            do {
                // Half-closure both ways: a dialled port reads EOF when its client finishes writing, and its
                // answer still arrives.
                channel = try await UnixSocketPath.withFittingPath(socketPath) { path in
                    try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .channelOption(.allowRemoteHalfClosure, value: true)
                        .connect(unixDomainSocketPath: path) { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                                    wrappingChannelSynchronously: channel,
                                    configuration: .init(isOutboundHalfClosureEnabled: true))
                            }
                        }
                }
            } catch {
                throw PaddockError.unavailable(
                    "the sandbox is not running (its supervisor does not answer); destroy the session and create a new one",
                    underlying: error)
            }
            return try await channel.executeThenClose { inbound, outbound in
                try await body(Connection(inbound: inbound.makeAsyncIterator(), writer: Writer(outbound: outbound)))
            }
        }

        /// The connection inside `executeThenClose`; it must not outlive that scope.
        final class Connection: InitConnection {
            private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
            let writer: any InitWriter

            init(inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, writer: Writer) {
                self.inbound = inbound
                self.writer = writer
            }

            func read() async throws -> [UInt8]? {
                guard let buffer = try await inbound.next() else { return nil }
                return Array(buffer.readableBytesView)
            }
        }

        struct Writer: InitWriter {
            let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
            func write(_ bytes: [UInt8]) async throws { try await outbound.write(ByteBuffer(bytes: bytes)) }
            func finish() { outbound.finish() }
        }
    }
#endif
