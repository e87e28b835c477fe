import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// How long connections may sit: a client that opened a connection and sent no complete request head within
/// `firstRequest` is closed, and a kept-alive connection with no request in flight for `idle` is closed too.
public struct ConnectionTimeouts: Sendable {
    public var firstRequest: Duration
    public var idle: Duration

    public init(firstRequest: Duration = .seconds(30), idle: Duration = .seconds(75)) {
        self.firstRequest = firstRequest
        self.idle = idle
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with `ConnectionTimeouts` and an answer to malformed requests (see `MalformedRequestGuard`).
    static func guardedHTTP1(timeouts: ConnectionTimeouts) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GuardedHTTPChannel(
                inner: HTTP1Channel(
                    responder: responder, configuration: .init(idleTimeout: TimeAmount(timeouts.idle))),
                firstRequest: timeouts.firstRequest)
        }
    }

    /// HTTP/1.1 with WebSocket upgrades through `webSocketRouter`, guarded like `guardedHTTP1`; inside TLS
    /// when `tls` is given.
    static func guardedHTTP1WebSocketUpgrade<Router: HTTPResponderBuilder>(
        webSocketRouter: Router, timeouts: ConnectionTimeouts, tls: TLSConfiguration? = nil
    ) -> HTTPServerBuilder where Router.Responder.Context: WebSocketRequestContext {
        let webSocketResponder = webSocketRouter.buildResponder()
        return HTTPServerBuilder { responder in
            let channel = GuardedHTTPChannel(
                inner: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder,
                    configuration: .init(http1: .init(idleTimeout: TimeAmount(timeouts.idle)))),
                firstRequest: timeouts.firstRequest)
            guard let tls else { return channel }
            return try TLSChannel(channel, tlsConfiguration: tls)
        }
    }
}

/// An HTTP/1 child channel with `MalformedRequestGuard` placed right after the request decoder.
///
/// Hummingbird answers a parse error itself once a request is under way, but not one in the first request's
/// head: on the WebSocket-upgrade pipeline the error reaches no handler, the upgrade negotiation never
/// finishes and the connection stays open, unanswered, for ever. Neither pipeline times out a connection that
/// never sends a complete head.
struct GuardedHTTPChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner
    let firstRequest: Duration

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let timeout = TimeAmount(firstRequest)
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let decoder = try operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try operations.addHandler(
                MalformedRequestGuard(firstRequestTimeout: timeout, logger: logger), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// Guards a connection until its first request head is decoded, then removes itself (from then on Hummingbird
/// answers parse errors and times out idle connections).
///
/// - A parse error (a NUL in a header, a header line without a colon, a TLS ClientHello or an HTTP/2 preface
///   on the plain HTTP port) is answered `400 Bad Request` with `Connection: close`, written as raw bytes below
///   the response encoder, and the connection is closed.
/// - No complete head within `firstRequestTimeout` closes the connection.
final class MalformedRequestGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart

    static let badRequest: [UInt8] = {
        let body = #"{"error":{"code":"invalid_argument","message":"the request is not valid HTTP/1.1"}}"#
        return Array(
            ("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body).utf8)
    }()

    private let firstRequestTimeout: TimeAmount
    private let logger: Logger
    private var deadline: Scheduled<Void>?
    private var answered = false

    init(firstRequestTimeout: TimeAmount, logger: Logger) {
        self.firstRequestTimeout = firstRequestTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startDeadline(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startDeadline(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The first part is always a head: the connection speaks HTTP, and Hummingbird takes it from here.
        context.fireChannelRead(data)
        deadline?.cancel()
        deadline = nil
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !answered else { return }
        answered = true
        deadline?.cancel()
        deadline = nil
        logger.debug("malformed HTTP request, answered 400", metadata: ["error": "\(error)"])
        // Written below the response encoder, which takes response parts, not bytes.
        guard let below = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self) else {
            context.close(promise: nil)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: Self.badRequest.count)
        buffer.writeBytes(Self.badRequest)
        let channel = context.channel
        below.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    private func startDeadline(_ context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        let channel = context.channel
        let logger = logger
        let timeout = firstRequestTimeout
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            logger.debug("no request head within \(timeout), closing the connection")
            channel.close(promise: nil)
        }
    }
}
