#if os(Linux)
    import NIOCore
    import NIOPosix
    import PaddockCore
    import PaddockInitProtocol
    import PaddockSandbox

    /// A `dial` connection through paddock-init: after init's `ok`, the unix socket carries the port's raw
    /// bytes. Reads are backpressured (init stops reading the port while the consumer lags).
    final class LocalSandboxConnection: SandboxConnection {
        enum Write: Sendable {
            case bytes([UInt8])
            case finish
        }

        let inbound: BackpressuredStream<[UInt8]>
        private let writes: AsyncStream<Write>.Continuation

        private init(inbound: BackpressuredStream<[UInt8]>, writes: AsyncStream<Write>.Continuation) {
            self.inbound = inbound
            self.writes = writes
        }

        static func open(socketPath: String, port: UInt16) async throws -> LocalSandboxConnection {
            let (writeStream, writeSink) = AsyncStream<Write>.makeStream()
            let (ready, readySink) = AsyncThrowingStream<Void, any Error>.makeStream()
            let inbound = BackpressuredStream<[UInt8]> { sink in
                do {
                    let channel = try await connect(socketPath)
                    try await channel.executeThenClose { input, output in
                        try await output.write(ByteBuffer(bytes: WireMessage.dial(port: port).framed()))
                        var iterator = input.makeAsyncIterator()
                        var pending: [UInt8] = []
                        var reply: (WireMessage, [UInt8])?
                        while reply == nil {
                            reply = try firstFrame(pending)
                            if reply != nil { break }
                            guard let buffer = try await iterator.next() else {
                                throw PaddockError.unavailable("the sandbox closed the connection while dialling")
                            }
                            pending.append(contentsOf: buffer.readableBytesView)
                        }
                        guard let reply else { return }
                        let (message, rest) = reply
                        if case .failure(let code, _, let text) = message {
                            throw PaddockError(wireCode: code, message: text)
                        }
                        guard case .ok = message else { throw PaddockError.internal("the sandbox answered \(message)") }
                        readySink.finish()
                        if !rest.isEmpty { await sink.send(rest) }
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                for await write in writeStream {
                                    switch write {
                                    case .bytes(let bytes): try await output.write(ByteBuffer(bytes: bytes))
                                    case .finish:
                                        output.finish()
                                        return
                                    }
                                }
                            }
                            defer { group.cancelAll() }
                            while let buffer = try await iterator.next() {
                                await sink.send(Array(buffer.readableBytesView))
                            }
                        }
                    }
                } catch {
                    readySink.finish(throwing: error)
                    throw PaddockError.wrap(error, "the connection to the sandbox port failed")
                }
            }
            let connection = LocalSandboxConnection(inbound: inbound, writes: writeSink)
            do {
                for try await _ in ready {}
                return connection
            } catch {
                await connection.close()
                throw error
            }
        }

        /// The first frame of `bytes` and what follows it, or nil until it is complete.
        static func firstFrame(_ bytes: [UInt8]) throws -> (WireMessage, [UInt8])? {
            guard bytes.count >= 4 else { return nil }
            let length = bytes[0..<4].reduce(0) { ($0 << 8) | Int($1) }
            guard length > 0, length <= wireMaxFrame else { throw PaddockError.internal("bad frame from the sandbox") }
            guard bytes.count >= 4 + length else { return nil }
            return (try WireMessage(decoding: Array(bytes[4..<(4 + length)])), Array(bytes[(4 + length)...]))
        }

        private static func connect(_ socketPath: String) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
            do {
                return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .channelOption(.allowRemoteHalfClosure, value: true)
                    .connect(unixDomainSocketPath: socketPath) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                                wrappingChannelSynchronously: channel,
                                configuration: .init(isOutboundHalfClosureEnabled: true))
                        }
                    }
            } catch {
                throw PaddockError.unavailable(
                    "the sandbox is not running (its supervisor does not answer)", underlying: error)
            }
        }

        func write(_ bytes: [UInt8]) async throws {
            if case .terminated = writes.yield(.bytes(bytes)) {
                throw PaddockError.conflict("the connection to the sandbox port is closed")
            }
        }

        func finishWriting() async { writes.yield(.finish) }

        func close() async {
            writes.finish()
            await inbound.cancelAndWait()
        }

        deinit {
            writes.finish()
            inbound.cancel()
        }
    }
#endif
