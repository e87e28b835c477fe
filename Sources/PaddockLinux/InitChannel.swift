#if os(Linux)
    import NIOCore
    import NIOPosix
    import PaddockCore
    import PaddockInitProtocol

    /// One connection to a sandbox's paddock-init: frames in, frames out. A connection carries one
    /// operation (see `WireMessage`), so callers open one per exec or file operation.
    struct InitChannel {
        private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        private var decoder = FrameDecoder()

        /// Connects to the init socket at `socketPath`, runs `body`, and closes the connection.
        static func with<T: Sendable>(
            socketPath: String, _ body: (inout InitChannel) async throws -> T
        ) async throws -> T {
            let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
            do {
                channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(unixDomainSocketPath: socketPath) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                        }
                    }
            } catch {
                throw PaddockError.unavailable(
                    "the sandbox is not running (its supervisor does not answer); destroy the session and create a new one",
                    underlying: error)
            }
            return try await channel.executeThenClose { inbound, outbound in
                var c = InitChannel(inbound: inbound.makeAsyncIterator(), outbound: outbound)
                return try await body(&c)
            }
        }

        private init(
            inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
            outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        ) {
            self.inbound = inbound
            self.outbound = outbound
        }

        func send(_ message: WireMessage) async throws {
            try await outbound.write(ByteBuffer(bytes: message.framed()))
        }

        /// A writer that can be handed to a concurrent task (stdin forwarding).
        var writer: NIOAsyncChannelOutboundWriter<ByteBuffer> { outbound }

        /// The next message, or nil when init closed the connection.
        mutating func receive() async throws -> WireMessage? {
            while true {
                if let message = try bufferedMessage() { return message }
                guard let buffer = try await inbound.next() else { return nil }
                decoder.append(buffer.readableBytesView)
            }
        }

        /// A complete message already received, if any. Kept synchronous and out of line: Swift 6.3's
        /// optimizer crashes splitting the async `receive` when these typed-throws calls are inlined into it.
        @inline(never)
        private mutating func bufferedMessage() throws -> WireMessage? {
            guard let payload = try decoder.next() else { return nil }
            return try WireMessage(decoding: payload)
        }

        /// The next message, failing if the connection ends first or init reports a failure.
        mutating func expectReply(_ what: @autoclosure () -> String) async throws -> WireMessage {
            guard let reply = try await receive() else {
                throw PaddockError.unavailable(
                    "the sandbox closed the connection during \(what()); is it still running?")
            }
            if case .failure(let code, _, let message) = reply { throw PaddockError(wireCode: code, message: message) }
            return reply
        }
    }

    extension PaddockError {
        /// Maps an init failure onto the shared error codes.
        init(wireCode: String, message: String) {
            let code: PaddockError.Code =
                switch WireErrorCode(rawValue: wireCode) {
                case .notFound: .notFound
                case .permissionDenied: .permissionDenied
                case .invalidArgument: .invalidArgument
                case .alreadyExists: .alreadyExists
                case .resourceExhausted: .resourceExhausted
                case .internal, nil: .internal
                }
            self.init(code, message)
        }
    }
#endif
