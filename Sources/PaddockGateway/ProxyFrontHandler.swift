import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import PaddockCore

/// Serves one connection from a sandbox: HTTP proxy requests (absolute-URI HTTP and CONNECT), or — inside an
/// intercepted CONNECT — origin-form requests to the CONNECT target over TLS.
///
/// Every request is decided before anything is dialled; refusals are an HTTP 403 with `X-Paddock-Reason` and
/// end the connection. Upstream responses stream back with backpressure (a side reads only while the other
/// can take more).
final class ProxyFrontHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum Mode {
        /// Plain proxy requests from the sandbox.
        case proxy
        /// Decrypted requests inside a CONNECT to `route`, forwarded over verified TLS.
        case intercepted(GatewaySession.Route)
    }

    struct Target: Equatable {
        let host: String
        let port: UInt16
        let tls: Bool
    }

    /// One request and its response, in flight.
    final class Exchange {
        var event: GatewayAuditEvent
        let keepAlive: Bool
        var responseStarted = false
        /// While a body is buffered for a placeholder swap: the head waiting to go, the body so far, and the
        /// secrets whose placeholders are swapped in it.
        var heldHead: HTTPRequestHead?
        var heldBody = ByteBuffer()
        var bodySecrets: [GatewaySecret] = []
        init(event: GatewayAuditEvent, keepAlive: Bool) {
            self.event = event
            self.keepAlive = keepAlive
        }
    }

    final class Upstream {
        let target: Target
        let handler: UpstreamHandler
        var channel: (any Channel)?
        init(target: Target, handler: UpstreamHandler) {
            self.target = target
            self.handler = handler
        }
    }

    let session: GatewaySession
    let mode: Mode
    let encoder: HTTPResponseEncoder
    let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    private(set) var context: ChannelHandlerContext?
    private var upstream: Upstream?
    /// Request parts received while the upstream connection is being decided or dialled.
    private var pending: [HTTPClientRequestPart] = []
    /// Requests sent upstream whose response has not ended, oldest first.
    private var inflight: [Exchange] = []
    /// The request whose body is arriving.
    private var receiving: Exchange?
    /// After a refusal: ignore the rest of the connection.
    private var refused = false
    private var pendingRead = false

    init(
        session: GatewaySession, mode: Mode, encoder: HTTPResponseEncoder,
        decoder: ByteToMessageHandler<HTTPRequestDecoder>
    ) {
        self.session = session
        self.mode = mode
        self.encoder = encoder
        self.decoder = decoder
    }

    /// Adds the HTTP server codec and a front handler at the end of `channel`'s pipeline.
    static func install(on channel: any Channel, session: GatewaySession, mode: Mode) throws {
        let encoder = HTTPResponseEncoder()
        let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes))
        let handler = ProxyFrontHandler(session: session, mode: mode, encoder: encoder, decoder: decoder)
        try channel.pipeline.syncOperations.addHandlers([encoder, decoder, handler])
    }

    var gateway: EgressGateway { session.gateway }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(let head): received(head, context: context)
        case .body(var buffer):
            guard let exchange = receiving else { return }
            exchange.event.bytesUp += buffer.readableBytes
            if exchange.heldHead != nil {
                guard exchange.heldBody.readableBytes + buffer.readableBytes <= GatewaySecret.maxSwappedBody else {
                    refuse(
                        413,
                        "a request body that may carry a secret's placeholder is swapped only up to "
                            + "\(GatewaySecret.maxSwappedBody >> 20) MiB; send a smaller body", event: exchange.event)
                    return
                }
                exchange.heldBody.writeBuffer(&buffer)
                return
            }
            noteMisuse(in: buffer, exchange: exchange)
            forward(.body(.byteBuffer(buffer)))
        case .end(let trailers):
            guard let exchange = receiving else { return }
            receiving = nil
            if let head = exchange.heldHead {
                // The swapped body goes with a Content-Length, where trailers have no place.
                sendSwapped(head, exchange: exchange)
                forward(.end(nil))
                return
            }
            forward(.end(trailers))
        }
    }

    private func received(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let target: Target
        var path: String
        switch mode {
        case .proxy:
            if head.method == .CONNECT {
                connect(head, context: context)
                return
            }
            guard let url = AbsoluteURL(head.uri) else {
                refuse(
                    400, "send proxy requests with an absolute http:// URL (or CONNECT host:443 for https)",
                    event: event(for: head, host: "-", port: 0, path: head.uri, mode: "http"))
                return
            }
            guard url.scheme == "http" else {
                refuse(
                    400, "\(url.scheme):// is not proxied as a plain request; clients reach https through CONNECT",
                    event: event(for: head, host: url.host, port: url.port, path: url.path, mode: "http"))
                return
            }
            target = Target(host: url.host, port: url.port, tls: false)
            path = url.path
        case .intercepted(let route):
            target = Target(host: route.host, port: route.port, tls: true)
            path = head.uri
        }
        let exchange = Exchange(
            event: event(
                for: head, host: target.host, port: target.port, path: path, mode: target.tls ? "intercept" : "http"),
            keepAlive: head.isKeepAlive)
        if let hostHeader = head.headers.first(name: "host"), AbsoluteURL.hostPart(of: hostHeader) != target.host {
            refuse(
                403, "the Host header names '\(hostHeader)' but the request goes to \(target.host); they must match",
                event: exchange.event)
            return
        }
        guard path.hasPrefix("/") || path == "*" else {
            refuse(400, "request target '\(path)' is not a path", event: exchange.event)
            return
        }
        var headers = head.headers
        guard applySecrets(to: &headers, path: &path, target: target, exchange: exchange) else { return }
        for name in ["proxy-connection", "proxy-authorization", "proxy-authenticate"] { headers.remove(name: name) }
        if !headers.contains(name: "host") { headers.add(name: "host", value: AbsoluteURL.authority(target)) }
        var forwarded = HTTPRequestHead(version: head.version, method: head.method, uri: path, headers: headers)
        forwarded.version = .http1_1
        // Live policy changes apply to the next request, even on a connection already open.
        switch session.decide(host: target.host, port: target.port) {
        case .failure(let refusal):
            exchange.event.rule = refusal.decision?.description
            refuse(refusal.status, refusal.reason, event: exchange.event)
            return
        case .success(let decision):
            exchange.event.rule = decision.description
        }
        if let existing = upstream, existing.target != target {
            // Keep-alive to another host: the idle upstream connection is let go.
            guard inflight.isEmpty else {
                refuse(400, "a connection cannot pipeline requests to different hosts", event: exchange.event)
                return
            }
            upstream = nil
            pending = []
            existing.channel?.close(promise: nil)
        }
        guard holdBodyIfItMayCarryASecret(forwarded, target: target, exchange: exchange, context: context) else {
            return
        }
        receiving = exchange
        inflight.append(exchange)
        let head: HTTPClientRequestPart? = exchange.heldHead == nil ? .head(forwarded) : nil
        if upstream != nil {
            if let head { forward(head) }
            return
        }
        if let head { pending.append(head) }
        let handler = UpstreamHandler(front: self)
        let new = Upstream(target: target, handler: handler)
        upstream = new
        if case .intercepted(let route) = mode {
            dial(new, route: route, exchange: exchange)
            return
        }
        let session = session
        context.eventLoop.makeFutureWithTask { await session.authorize(host: target.host, port: target.port) }
            .assumeIsolated().whenSuccess { result in
                guard self.upstream === new else { return }
                switch result {
                case .failure(let refusal):
                    exchange.event.rule = refusal.decision?.description
                    self.refuse(refusal.status, refusal.reason, event: exchange.event)
                case .success(let route):
                    exchange.event.rule = route.decision.description
                    self.dial(new, route: route, exchange: exchange)
                }
            }
    }

    private func event(for head: HTTPRequestHead, host: String, port: UInt16, path: String?, mode: String)
        -> GatewayAuditEvent
    {
        GatewayAuditEvent(
            session: session.id.rawValue, method: head.method.rawValue, host: host, port: port,
            path: path.map(AbsoluteURL.redactingQuery), mode: mode, decision: "allow")
    }

    /// Swaps placeholders for values where the secret may go; refuses the request when a placeholder is sent
    /// anywhere else. Returns false when the request was refused.
    private func applySecrets(to headers: inout HTTPHeaders, path: inout String, target: Target, exchange: Exchange)
        -> Bool
    {
        var problems: [String] = []
        for secret in session.secrets {
            let inHeaders = headers.contains { $0.value.containsBytes(secret.placeholder) }
            let inPath = path.containsBytes(secret.placeholder)
            guard inHeaders || inPath else { continue }
            let scoped = secret.isScoped(to: target.host, port: target.port)
            if scoped && (target.tls || secret.allowHTTP) {
                if inHeaders {
                    var swapped = HTTPHeaders()
                    for (name, value) in headers {
                        swapped.add(name: name, value: value.replacingAll(secret.placeholder, with: secret.value))
                    }
                    headers = swapped
                }
                if inPath { path = path.replacingAll(secret.placeholder, with: secret.value) }
                exchange.event.secretsInjected.append(secret.name)
            } else {
                exchange.event.placeholderMisuse.append(secret.name)
                problems.append(
                    scoped
                        ? "secret \(secret.name) is only sent over TLS; use https:// (or set the secret with "
                            + "--allow-http)"
                        : "the request carries the placeholder of secret \(secret.name), which may only be sent to "
                            + "\(secret.scopeDescription); it was not sent to \(target.host):\(target.port)")
            }
        }
        guard problems.isEmpty else {
            refuse(403, problems.joined(separator: "; "), event: exchange.event)
            return false
        }
        return true
    }

    /// For a request to a host with a body-swapped secret (`inBody`): holds the head back and buffers the body,
    /// so the placeholder can be swapped and the length fixed before anything goes upstream. Answers an
    /// `Expect: 100-continue` itself. Returns false when the request was refused (a declared body too large).
    private func holdBodyIfItMayCarryASecret(
        _ head: HTTPRequestHead, target: Target, exchange: Exchange, context: ChannelHandlerContext
    ) -> Bool {
        let secrets = session.secrets.filter {
            $0.inBody && $0.isScoped(to: target.host, port: target.port) && (target.tls || $0.allowHTTP)
        }
        let length = head.headers.first(name: "content-length").flatMap(Int.init)
        let chunked = head.headers[canonicalForm: "transfer-encoding"].contains { $0.lowercased() == "chunked" }
        guard !secrets.isEmpty, (length ?? 0) > 0 || chunked else { return true }
        if let length, length > GatewaySecret.maxSwappedBody {
            refuse(
                413,
                "a request body that may carry a secret's placeholder is swapped only up to "
                    + "\(GatewaySecret.maxSwappedBody >> 20) MiB; send a smaller body", event: exchange.event)
            return false
        }
        var held = head
        if held.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            held.headers.remove(name: "expect")
            let interim = HTTPResponseHead(version: .http1_1, status: .continue)
            context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
        }
        exchange.heldHead = held
        exchange.bodySecrets = secrets
        return true
    }

    /// Sends a held request: placeholders of the body-swapped secrets replaced by their values, the length
    /// set to the new size; any other secret's placeholder in the body is recorded as misuse.
    private func sendSwapped(_ head: HTTPRequestHead, exchange: Exchange) {
        var body = Array(exchange.heldBody.readableBytesView)
        for secret in exchange.bodySecrets {
            let placeholder = Array(secret.placeholder.utf8)
            guard body.withUnsafeBytes({ ByteSearch.contains(placeholder, in: $0) }) else { continue }
            body = ByteSearch.replacingAll(placeholder, with: Array(secret.value.utf8), in: body)
            if !exchange.event.secretsInjected.contains(secret.name) {
                exchange.event.secretsInjected.append(secret.name)
            }
        }
        let buffer = ByteBuffer(bytes: body)
        noteMisuse(in: buffer, exchange: exchange)
        var sent = head
        sent.headers.remove(name: "transfer-encoding")
        sent.headers.replaceOrAdd(name: "content-length", value: String(body.count))
        exchange.heldHead = nil
        exchange.heldBody = ByteBuffer()
        forward(.head(sent))
        forward(.body(.byteBuffer(buffer)))
    }

    /// A placeholder in a body cannot be taken back once the head has gone; it is only recorded.
    private func noteMisuse(in buffer: ByteBuffer, exchange: Exchange) {
        let secrets = session.secrets
        guard !secrets.isEmpty else { return }
        for secret in secrets where buffer.containsBytes(secret.placeholder) {
            if !exchange.event.placeholderMisuse.contains(secret.name) {
                exchange.event.placeholderMisuse.append(secret.name)
            }
        }
    }

    private func forward(_ part: HTTPClientRequestPart) {
        guard let channel = upstream?.channel else {
            pending.append(part)
            return
        }
        channel.write(part, promise: nil)
        if case .end = part { channel.flush() }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        upstream?.channel?.flush()
        context.fireChannelReadComplete()
    }

    // MARK: Upstream

    private func dial(_ upstream: Upstream, route: GatewaySession.Route, exchange: Exchange) {
        guard let context else { return }
        exchange.event.address = route.address.description
        let loop = context.eventLoop
        let handler = NIOLoopBound(upstream.handler, eventLoop: loop)
        let tls = upstream.target.tls ? gateway.clientTLS : nil
        let serverName = IPAddress(route.host) == nil ? route.host : nil
        let address: SocketAddress
        do { address = try SocketAddress(ipAddress: route.address.description, port: Int(route.port)) } catch {
            refuse(502, "cannot dial \(route.address): \(error)", event: exchange.event)
            return
        }
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(15))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    if let tls {
                        try operations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try operations.addHTTPClientHandlers()
                    try operations.addHandler(handler.value)
                }
            }
            .connect(to: address)
            .assumeIsolated().whenComplete { result in
                switch result {
                case .failure(let error):
                    guard self.upstream === upstream else { return }
                    self.refuse(
                        502, "cannot connect to \(route.host):\(route.port) (\(route.address)): \(error)",
                        event: exchange.event)
                case .success(let channel):
                    guard self.upstream === upstream, self.context != nil else {
                        channel.close(promise: nil)
                        return
                    }
                    upstream.channel = channel
                    let parts = self.pending
                    self.pending = []
                    for part in parts { channel.write(part, promise: nil) }
                    channel.flush()
                }
            }
    }

    func upstreamRead(_ part: HTTPClientResponsePart) {
        guard let context, let exchange = inflight.first else { return }
        switch part {
        case .head(let head):
            exchange.event.status = Int(head.status.code)
            if head.status.code >= 200 { exchange.responseStarted = true }
            context.write(wrapOutboundOut(.head(head)), promise: nil)
        case .body(let buffer):
            exchange.event.bytesDown += buffer.readableBytes
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        case .end(let trailers):
            inflight.removeFirst()
            gateway.record(exchange.event)
            if exchange.keepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(trailers))).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            }
        }
    }

    func upstreamReadComplete() { context?.flush() }

    func upstreamClosed(_ handler: UpstreamHandler, error: (any Error)?) {
        guard let upstream, upstream.handler === handler else { return }
        self.upstream = nil
        pending = []
        guard let exchange = inflight.first else { return }
        if exchange.responseStarted {
            // Half a response cannot be completed: end the connection so the client sees the truncation.
            exchange.event.reason = "the upstream closed the connection mid-response"
            gateway.record(exchange.event)
            inflight.removeAll()
            context?.close(promise: nil)
        } else {
            let detail = error.map { "\($0)" } ?? "it closed the connection"
            refuse(
                502, "the upstream \(upstream.target.host):\(upstream.target.port) failed: \(detail)",
                event: exchange.event)
        }
    }

    func upstreamBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func read(context: ChannelHandlerContext) {
        if let channel = upstream?.channel, !channel.isWritable {
            pendingRead = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { upstream?.handler.frontBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.channel?.close(promise: nil)
        upstream = nil
        for exchange in inflight where exchange.event.status == nil {
            exchange.event.reason = "the client closed the connection"
            gateway.record(exchange.event)
        }
        inflight = []
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Refusals

    /// Answers `status` with the reason in `X-Paddock-Reason` and the body, records the event, and closes.
    func refuse(_ status: Int, _ reason: String, event: GatewayAuditEvent) {
        var event = event
        event.status = status
        event.reason = reason
        if status == 403 || status == 400 { event.decision = "deny" }
        gateway.record(event)
        refused = true
        upstream?.channel?.close(promise: nil)
        upstream = nil
        pending = []
        inflight = []
        guard let context else { return }
        let body = "paddock gateway: \(reason)\n"
        var headers = HTTPHeaders()
        headers.add(name: "X-Paddock-Reason", value: String(reason.map { $0.isNewline ? " " : $0 }))
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
