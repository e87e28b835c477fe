import Foundation
import Hummingbird
import Logging
import NIOCore
import PaddockCore
import PaddockSandbox
import PaddockServices

/// Reading Connect requests and writing Connect server streams over Hummingbird.
enum ConnectStream {
    /// Largest request message accepted.
    static let maxRequestBytes = 4 << 20

    /// The one message of a unary call (plain JSON) or of a server-streaming call (one enveloped message).
    static func requestMessage(_ request: Request) async throws -> [UInt8] {
        let buffer = try await request.body.collect(upTo: maxRequestBytes)
        let bytes = Array(buffer.readableBytesView)
        guard isStreaming(request) else { return bytes }
        var decoder = ConnectEnvelopeDecoder()
        decoder.append(bytes)
        guard let envelope = try decoder.next(), !envelope.isEndStream else {
            throw ConnectError(.invalidArgument, "the stream request carries no message envelope")
        }
        return envelope.payload
    }

    static func isStreaming(_ request: Request) -> Bool {
        (request.headers[.contentType] ?? "").hasPrefix("application/connect+")
    }

    /// The deadline the client gave (`Connect-Timeout-Ms`), if any.
    static func timeout(_ request: Request) -> Duration? {
        guard let text = request.header("connect-timeout-ms"), let ms = Int64(text), ms > 0 else { return nil }
        return .milliseconds(min(ms, InputLimits.maxDurationSeconds * 1000))
    }

    /// A unary success: the message as JSON.
    static func unary(_ message: some Encodable) throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try ProtoJSON.encode(message))))
    }

    /// What a stream producer hands the writer.
    enum Item: Sendable {
        case message([UInt8])
        case keepalive
    }

    /// A server stream: `produce` sends messages; a keepalive message goes out whenever nothing else did
    /// for `keepalive`, so proxies and clients keep a quiet stream open. The stream ends with a success
    /// trailer, or with the error `produce` threw; past the deadline it ends with `deadline_exceeded` after
    /// `onDeadline` ran. Every envelope is flushed as it is written.
    static func response(
        keepaliveMessage: [UInt8], keepalive: Duration, deadline: Duration?,
        onDeadline: @escaping @Sendable () async -> Void = {},
        onClientGone: @escaping @Sendable () async -> Void = {},
        channel: (any Channel)? = nil,
        produce: @escaping @Sendable (BackpressuredStream<Item>.Channel) async throws -> Void
    ) -> Response {
        let body = ResponseBody { writer in
            let items = BackpressuredStream<Item> { channel in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while true {
                            try await Task.sleep(for: keepalive)
                            await channel.send(.keepalive)
                        }
                    }
                    if let deadline {
                        group.addTask {
                            try await Task.sleep(for: deadline)
                            await onDeadline()
                            throw ConnectError(.deadlineExceeded, "the call exceeded its deadline of \(deadline)")
                        }
                    }
                    group.addTask { try await produce(channel) }
                    // The producer finishing (or anything failing) ends the stream.
                    try await group.next()
                    group.cancelAll()
                }
            }
            var end = ConnectError.successEndStream
            var iterator = items.makeAsyncIterator()
            while true {
                let item: Item?
                do { item = try await iterator.next() } catch let error as ConnectStreamAborted {
                    await Self.reset(channel)
                    throw error
                } catch {
                    end = Self.endStream(for: error)
                    break
                }
                guard let item else { break }
                let payload: [UInt8]
                switch item {
                case .message(let bytes): payload = bytes
                case .keepalive: payload = keepaliveMessage
                }
                do { try await writer.write(ByteBuffer(bytes: ConnectEnvelope(payload: payload).encoded())) } catch {
                    // The client is gone: stop what feeds the stream.
                    items.cancel()
                    await onClientGone()
                    throw error
                }
            }
            try await writer.write(ByteBuffer(bytes: end.encoded()))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/connect+json"], body: body)
    }

    /// Resets the connection (TCP RST): E2B's SDKs read a reset, not a clean end of the body, as the transport
    /// failing, and only then ask the sandbox's health and say it was killed.
    static func reset(_ channel: (any Channel)?) async {
        guard let channel else { return }
        guard let socket = channel as? any SocketOptionProvider else {
            Logger(label: "paddock.e2b").notice("a stream's connection cannot be reset; it closes cleanly instead")
            return
        }
        do {
            try await socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
            // Closed here, whole: the HTTP server would half-close first, and the FIN reads as a clean end.
            channel.close(promise: nil)
        } catch {
            // The connection closes anyway, cleanly: the SDK then reports a timeout instead of "killed".
            Logger(label: "paddock.e2b").notice(
                "cannot reset a stream's connection; it closes cleanly instead", metadata: ["error": "\(error)"])
        }
    }

    static func endStream(for error: any Error) -> ConnectEnvelope {
        switch error {
        case let e as ConnectError: e.endStreamEnvelope()
        case let e as PaddockError: ConnectError(e).endStreamEnvelope()
        case is CancellationError: ConnectError(.canceled, "the call was cancelled").endStreamEnvelope()
        default: ConnectError(.internal, "the stream failed; see the server log").endStreamEnvelope()
        }
    }
}

/// Ends a stream the way a vanished sandbox would: the connection drops with no end-of-stream message. E2B's SDKs
/// then probe the sandbox's health and, finding it gone, say the sandbox was killed or reached its end of life.
struct ConnectStreamAborted: Error, Sendable {
    var reason: String
}
