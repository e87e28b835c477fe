import PaddockCore
import PaddockInitProtocol

/// Frames over one init connection: messages out, messages in.
struct InitFrames {
    let connection: any InitConnection
    private var decoder = FrameDecoder()

    init(_ connection: any InitConnection) { self.connection = connection }

    func send(_ message: WireMessage) async throws {
        try await connection.writer.write(message.framed())
    }

    /// The next message, or nil when init closed the connection.
    mutating func receive() async throws -> WireMessage? {
        while true {
            if let message = try bufferedMessage() { return message }
            guard let bytes = try await connection.read() else { return nil }
            decoder.append(bytes)
        }
    }

    /// A complete message already received, if any. Kept synchronous and out of line: Swift 6.3's optimizer
    /// crashes splitting the async `receive` when these typed-throws calls are inlined into it.
    @inline(never)
    private mutating func bufferedMessage() throws -> WireMessage? {
        guard let payload = try decoder.next() else { return nil }
        return try WireMessage(decoding: payload)
    }

    /// The next message, failing if the connection ends first or init reports a failure.
    mutating func expectReply(_ what: @autoclosure () -> String) async throws -> WireMessage {
        guard let reply = try await receive() else {
            throw PaddockError.unavailable("the sandbox closed the connection during \(what()); is it still running?")
        }
        if case .failure(let code, _, let message) = reply { throw PaddockError(wireCode: code, message: message) }
        return reply
    }

    /// Bytes received past the last frame (a dialled port's first bytes, sent right behind init's `ok`).
    mutating func takeBuffered() -> [UInt8] { decoder.takeBuffered() }
}
