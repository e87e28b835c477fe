import PaddockCore
import PaddockInitProtocol
import PaddockSandbox

/// An init transport whose far end is a script: each connection runs `serve` against an in-memory pipe, so
/// `InitClient` is tested frame by frame without a sandbox.
struct ScriptedInit: InitTransport {
    let serve: @Sendable (Peer) async throws -> Void

    func withConnection<T: Sendable>(_ body: (any InitConnection) async throws -> T) async throws -> T {
        let (toClient, clientSink) = AsyncStream<[UInt8]>.makeStream()
        let (toInit, initSink) = AsyncStream<[UInt8]>.makeStream()
        let peer = Peer(inbound: toInit, outbound: clientSink)
        let server = Task {
            try? await serve(peer)
            clientSink.finish()
        }
        defer {
            initSink.finish()
            server.cancel()
        }
        return try await body(Connection(inbound: toClient, writer: Writer(sink: initSink)))
    }

    /// The script's side of one connection.
    final class Peer: @unchecked Sendable {
        // Used by the one script task only.
        private var inbound: AsyncStream<[UInt8]>.Iterator
        private let outbound: AsyncStream<[UInt8]>.Continuation
        private var decoder = FrameDecoder()

        init(inbound: AsyncStream<[UInt8]>, outbound: AsyncStream<[UInt8]>.Continuation) {
            self.inbound = inbound.makeAsyncIterator()
            self.outbound = outbound
        }

        /// The next message from the client, or nil when it closed its side.
        func receive() async throws -> WireMessage? {
            while true {
                if let payload = try decoder.next() { return try WireMessage(decoding: payload) }
                guard let bytes = await inbound.next() else { return nil }
                decoder.append(bytes)
            }
        }

        /// Raw bytes from the client (after a dial's `ok`), including any already buffered.
        func receiveRaw() async -> [UInt8]? {
            let buffered = decoder.takeBuffered()
            if !buffered.isEmpty { return buffered }
            return await inbound.next()
        }

        func send(_ message: WireMessage) { outbound.yield(message.framed()) }
        func sendRaw(_ bytes: [UInt8]) { outbound.yield(bytes) }
    }

    final class Connection: InitConnection {
        private var inbound: AsyncStream<[UInt8]>.Iterator
        let writer: any InitWriter

        init(inbound: AsyncStream<[UInt8]>, writer: Writer) {
            self.inbound = inbound.makeAsyncIterator()
            self.writer = writer
        }

        func read() async throws -> [UInt8]? { await inbound.next() }
    }

    struct Writer: InitWriter {
        let sink: AsyncStream<[UInt8]>.Continuation
        func write(_ bytes: [UInt8]) async throws {
            guard case .enqueued = sink.yield(bytes) else { throw PaddockError.unavailable("the connection is closed") }
        }
        func finish() { sink.finish() }
    }
}
