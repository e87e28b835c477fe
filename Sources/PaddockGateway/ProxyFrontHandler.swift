import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PaddockCore

/// Serves one connection from a sandbox: HTTP proxy requests (absolute-URI HTTP and CONNECT), or — inside an
/// intercepted CONNECT — origin-form requests to the CONNECT target over TLS.
///
/// The protocol is `ProxyFrontStateMachine`'s: this handler feeds it what happens on the connection and on the
/// upstream one, and does what it answers (forward, respond, dial, refuse, close). Upstream responses stream
/// back with backpressure (a side reads only while the other can take more).
final class ProxyFrontHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
    typealias Machine = ProxyFrontStateMachine

    /// An upstream HTTP connection: the machine's name for it, its handler, and its channel once connected.
    struct Upstream {
        let id: Machine.UpstreamID
        let handler: UpstreamHandler
        var channel: (any Channel)?
    }

    /// What a CONNECT hands the connection over to, once it is ready.
    enum Handover {
        case intercept(NIOSSLContext)
        case tunnel(any Channel, inside: GlueHandler)
    }

    let session: GatewaySession
    let encoder: HTTPResponseEncoder
    let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    var machine: Machine
    private(set) var context: ChannelHandlerContext?
    private var upstream: Upstream?
    var handover: Handover?
    private var pendingRead = false

    init(
        session: GatewaySession, mode: Machine.Mode, encoder: HTTPResponseEncoder,
        decoder: ByteToMessageHandler<HTTPRequestDecoder>
    ) {
        self.session = session
        self.encoder = encoder
        self.decoder = decoder
        machine = Machine(
            session: session.id.rawValue, mode: mode, secrets: session.secrets,
            decide: { [session] host, port in session.decide(host: host, port: port) },
            modelCallRefusal: { [session] in session.modelCallRefusal })
        machine.mcpServers = session.mcpServers
    }

    /// Adds the HTTP server codec and a front handler at the end of `channel`'s pipeline.
    static func install(on channel: any Channel, session: GatewaySession, mode: Machine.Mode) throws {
        let encoder = HTTPResponseEncoder()
        let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes))
        let handler = ProxyFrontHandler(session: session, mode: mode, encoder: encoder, decoder: decoder)
        try channel.pipeline.syncOperations.addHandlers([encoder, decoder, handler])
    }

    var gateway: EgressGateway { session.gateway }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // MARK: Events

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): run(machine.requestHead(head))
        case .body(let buffer): run(machine.requestBody(buffer))
        case .end(let trailers): run(machine.requestEnd(trailers))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        upstream?.channel?.flush()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        dropUpstream()
        run(machine.channelInactive())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func upstreamRead(_ id: Machine.UpstreamID, _ part: HTTPClientResponsePart) {
        run(machine.upstreamResponse(part, from: id))
    }

    func upstreamReadComplete() { context?.flush() }

    func upstreamClosed(_ id: Machine.UpstreamID, error: (any Error)?) {
        if upstream?.id == id { upstream = nil }
        run(machine.upstreamClosed(id, error: error.map { "\($0)" }))
    }

    // MARK: Actions

    /// Does what the machine answered.
    func run(_ action: Machine.Action) {
        switch action {
        case .none:
            break
        case .forward(let part, let flush):
            guard let channel = upstream?.channel else { return }
            channel.write(part, promise: nil)
            if flush { channel.flush() }
        case .forwardAll(let parts):
            guard let channel = upstream?.channel else { return }
            for part in parts { channel.write(part, promise: nil) }
            channel.flush()
        case .startRequest(let closeUpstream, let sendContinue, let next):
            if let closeUpstream { self.closeUpstream(closeUpstream) }
            if sendContinue {
                let interim = HTTPResponseHead(version: .http1_1, status: .continue)
                context?.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
            }
            switch next {
            case .nothing: break
            case .forward(let head): upstream?.channel?.write(HTTPClientRequestPart.head(head), promise: nil)
            case .authorize(let id, let host, let port): authorize(id, host: host, port: port)
            case .dial(let id, let route, let tls): dial(id, route: route, tls: tls)
            }
        case .dial(let id, let route, let tls):
            dial(id, route: route, tls: tls)
        case .respond(let part):
            context?.write(wrapOutboundOut(part), promise: nil)
        case .endResponse(let trailers, let events, let close):
            // The client gets the end of its answer first; the record (and the metering behind it) follows.
            defer { record(events) }
            guard let context else { return }
            let written = context.writeAndFlush(wrapOutboundOut(.end(trailers)))
            if close { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
        case .refuse(let status, let reason, let events):
            record(events)
            dropUpstream()
            dropHandover()
            answer(status, reason)
        case .refuseModelCall(let status, let reason, let events):
            record(events)
            dropUpstream()
            dropHandover()
            answer(status, reason, json: true)
        case .close(let events):
            record(events)
            dropUpstream()
            dropHandover()
            context?.close(promise: nil)
        case .record(let events):
            record(events)
        case .closeUpstream(let id):
            closeUpstream(id)
        case .authorizeConnect(let host, let port, let closeUpstream):
            if let closeUpstream { self.closeUpstream(closeUpstream) }
            authorizeConnect(host: host, port: port)
        case .prepareIntercept(let route):
            prepareIntercept(route)
        case .switchToIntercept(let route, let event):
            switchToIntercept(route, event: event)
        case .dialTunnel(let route, let event):
            dialTunnel(route, event: event)
        case .switchToTunnel(let route, let event):
            switchToTunnel(route, event: event)
        case .closeTunnel(let events):
            dropHandover()
            record(events)
        }
    }

    private func record(_ events: [GatewayAuditEvent]) {
        for event in events { gateway.record(event) }
    }

    /// Asks policy (and any approver) where upstream `id` may go, off the event loop.
    private func authorize(_ id: Machine.UpstreamID, host: String, port: UInt16) {
        guard let context else { return }
        let session = session
        context.eventLoop.makeFutureWithTask { await session.authorize(host: host, port: port) }
            .assumeIsolated().whenSuccess { result in self.run(self.machine.policyDecided(id, result)) }
    }

    private func dial(_ id: Machine.UpstreamID, route: GatewaySession.Route, tls: Bool) {
        guard let context else { return }
        let handler = UpstreamHandler(front: self, id: id)
        upstream = Upstream(id: id, handler: handler, channel: nil)
        let loop = context.eventLoop
        let bound = NIOLoopBound(handler, eventLoop: loop)
        let tls = tls ? gateway.clientTLS : nil
        let serverName = IPAddress(route.host) == nil ? route.host : nil
        let address: SocketAddress
        do { address = try SocketAddress(ipAddress: route.address.description, port: Int(route.port)) } catch {
            run(machine.upstreamConnectFailed(id, .address("\(error)")))
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
                    try operations.addHandler(bound.value)
                }
            }
            .connect(to: address)
            .assumeIsolated().whenComplete { result in
                switch result {
                case .failure(let error):
                    self.run(self.machine.upstreamConnectFailed(id, .connect("\(error)")))
                case .success(let channel):
                    if self.upstream?.id == id, self.context != nil {
                        self.upstream?.channel = channel
                    } else {
                        channel.close(promise: nil)
                    }
                    self.run(self.machine.upstreamConnected(id))
                }
            }
    }

    private func closeUpstream(_ id: Machine.UpstreamID) {
        guard upstream?.id == id else { return }
        dropUpstream()
    }

    private func dropUpstream() {
        upstream?.channel?.close(promise: nil)
        upstream = nil
    }

    /// Lets a dialled tunnel go unused; its own record is not made (the machine's is).
    func dropHandover() {
        if case .tunnel(let channel, let inside) = handover {
            inside.onClose = nil
            channel.close(promise: nil)
        }
        handover = nil
    }

    /// Answers `status` with the reason in `X-Paddock-Reason` and the body, then closes.
    private func answer(_ status: Int, _ reason: String, json: Bool = false) {
        guard let context else { return }
        // A model call's refusal reads as the APIs' own error (Anthropic's `type`/`error`, OpenAI's `error`), so
        // the agent shows the message.
        let body =
            json
            ? JSONDocument.object([
                "type": .string("error"),
                "error": .object([
                    "type": .string("paddock_budget_exceeded"), "code": .string("budget_exceeded"),
                    "message": .string("paddock gateway: \(reason)"),
                ]),
            ]).jsonText + "\n"
            : "paddock gateway: \(reason)\n"
        var headers = HTTPHeaders()
        headers.add(name: "X-Paddock-Reason", value: String(reason.map { $0.isNewline ? " " : $0 }))
        headers.add(name: "Content-Type", value: json ? "application/json" : "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: Self.status(status, reason), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// The status with the reason in its status line: a refused CONNECT has no body a client shows, but many
    /// print the status line ("Tunnel connection failed: 403 Forbidden by Paddock: …"), so an agent reads why.
    static func status(_ code: Int, _ reason: String) -> HTTPResponseStatus {
        let standard = HTTPResponseStatus(statusCode: code)
        // A status line is one line of visible ASCII; the reason is cut to keep it short.
        let line = String(
            reason.unicodeScalars.prefix(300).map { (0x20..<0x7f).contains($0.value) ? Character($0) : " " })
        return .custom(code: UInt(code), reasonPhrase: "\(standard.reasonPhrase) by Paddock: \(line)")
    }

    // MARK: Backpressure

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
}
