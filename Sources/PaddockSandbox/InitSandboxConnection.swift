import PaddockCore
import PaddockInitProtocol
import Synchronization

/// A `dial` connection through paddock-init: after init's `ok`, the connection carries the port's raw bytes.
/// Reads are backpressured (init stops reading the port while the consumer lags); writes go straight to the
/// connection.
final class InitSandboxConnection: SandboxConnection {
    let inbound: BackpressuredStream<[UInt8]>
    private let writer: Writer

    private init(inbound: BackpressuredStream<[UInt8]>, writer: Writer) {
        self.inbound = inbound
        self.writer = writer
    }

    static func open(_ transport: any InitTransport, port: UInt16) async throws -> InitSandboxConnection {
        let writer = Writer()
        let (ready, readySink) = AsyncThrowingStream<Void, any Error>.makeStream()
        let inbound = BackpressuredStream<[UInt8]> { sink in
            defer { writer.close() }
            do {
                try await transport.withConnection { connection in
                    var frames = InitFrames(connection)
                    try await frames.send(.dial(port: port))
                    let reply = try await frames.expectReply("dialling port \(port)")
                    guard case .ok = reply else { throw PaddockError.internal("the sandbox answered \(reply)") }
                    writer.open(connection.writer)
                    readySink.finish()
                    let early = frames.takeBuffered()
                    if !early.isEmpty { await sink.send(early) }
                    while let bytes = try await connection.read() {
                        await sink.send(bytes)
                        try Task.checkCancellation()
                    }
                }
            } catch {
                readySink.finish(throwing: error)
                throw PaddockError.wrap(error, "the connection to the sandbox port failed")
            }
        }
        let connection = InitSandboxConnection(inbound: inbound, writer: writer)
        do {
            for try await _ in ready {}
            return connection
        } catch {
            await connection.close()
            throw error
        }
    }

    func write(_ bytes: [UInt8]) async throws {
        guard let output = writer.current else {
            throw PaddockError.conflict("the connection to the sandbox port is closed")
        }
        do { try await output.write(bytes) } catch {
            throw PaddockError.wrap(error, "the connection to the sandbox port is closed")
        }
    }

    func finishWriting() async { writer.current?.finish() }

    func close() async {
        writer.close()
        await inbound.cancelAndWait()
    }

    deinit {
        writer.close()
        inbound.cancel()
    }

    /// The connection's writer while it is open.
    final class Writer: Sendable {
        private enum State: Sendable {
            case pending
            case open(any InitWriter)
            case closed
        }
        private let state = Mutex(State.pending)

        var current: (any InitWriter)? {
            state.withLock { state in
                if case .open(let output) = state { return output }
                return nil
            }
        }
        func open(_ output: any InitWriter) {
            state.withLock { if case .pending = $0 { $0 = .open(output) } }
        }
        func close() { state.withLock { $0 = .closed } }
    }
}
