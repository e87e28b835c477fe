import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import PaddockCore

extension ProxyFrontHandler {
    /// CONNECT host:port: decided like any request; then either a plain tunnel, or — for hosts with a secret —
    /// TLS terminated with the session CA so requests can be read and placeholders swapped. Either way the
    /// client's TLS server name must be the CONNECT host.
    func connect(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard let (host, port) = AbsoluteURL.hostAndPort(head.uri, defaultPort: nil) else {
            refuse(
                400, "CONNECT needs host:port, like api.example.com:443",
                event: GatewayAuditEvent(
                    session: session.id.rawValue, method: "CONNECT", host: head.uri, port: 0, mode: "tunnel",
                    decision: "deny"))
            return
        }
        let intercept = session.intercepts(host: host, port: port)
        var event = GatewayAuditEvent(
            session: session.id.rawValue, method: "CONNECT", host: host, port: port,
            mode: intercept ? "intercept" : "tunnel", decision: "allow")
        let session = session
        context.eventLoop.makeFutureWithTask { await session.authorize(host: host, port: port) }
            .assumeIsolated().whenSuccess { result in
                switch result {
                case .failure(let refusal):
                    event.rule = refusal.decision?.description
                    self.refuse(refusal.status, refusal.reason, event: event)
                case .success(let route):
                    event.rule = route.decision.description
                    event.address = route.address.description
                    if intercept {
                        self.intercept(route, event: event)
                    } else {
                        self.tunnel(route, event: event)
                    }
                }
            }
    }

    /// Checks the TLS ClientHello's server name against the CONNECT host, before any byte goes further.
    private func serverNameCheck(_ route: GatewaySession.Route, event: GatewayAuditEvent, channel: any Channel)
        -> ByteToMessageHandler<SNIHandler>
    {
        let loop = channel.eventLoop
        let gateway = gateway
        let isAddress = IPAddress(route.host) != nil
        return ByteToMessageHandler(
            SNIHandler { result in
                let problem: String?
                switch result {
                case .hostname(let name):
                    problem =
                        AbsoluteURL.normalizedHost(name) == route.host
                        ? nil : "the TLS server name '\(name)' does not match the CONNECT target \(route.host)"
                case .fallback:
                    problem =
                        isAddress
                        ? nil
                        : "the tunnel to \(route.host) did not start with a TLS ClientHello naming it; only TLS "
                            + "whose server name matches the CONNECT target is tunnelled"
                }
                guard let problem else { return loop.makeSucceededVoidFuture() }
                var event = event
                event.decision = "deny"
                event.reason = problem
                gateway.record(event)
                channel.close(promise: nil)
                return loop.makeFailedFuture(PaddockError.permissionDenied(problem))
            })
    }

    /// Takes the HTTP codec out, answers 200 on the raw connection, then installs `handlers` in its place.
    private func switchToRaw(_ context: ChannelHandlerContext, then install: @escaping () throws -> Void) {
        let operations = context.pipeline.syncOperations
        operations.removeHandler(decoder).assumeIsolated().flatMap { _ in operations.removeHandler(self.encoder) }
            .whenComplete { result in
                do {
                    try result.get()
                    context.writeAndFlush(
                        NIOAny(ByteBuffer(string: "HTTP/1.1 200 Connection Established\r\n\r\n")), promise: nil)
                    try install()
                    operations.removeHandler(self, promise: nil)
                } catch {
                    context.close(promise: nil)
                }
            }
    }

    private func intercept(_ route: GatewaySession.Route, event: GatewayAuditEvent) {
        guard let context else { return }
        let tls: NIOSSLContext
        do { tls = try session.serverContext(for: route.host) } catch {
            refuse(502, "could not issue a certificate for \(route.host): \(error)", event: event)
            return
        }
        let check = serverNameCheck(route, event: event, channel: context.channel)
        let session = session
        let channel = context.channel
        switchToRaw(context) {
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(check)
            try operations.addHandler(NIOSSLServerHandler(context: tls))
            try ProxyFrontHandler.install(on: channel, session: session, mode: .intercepted(route))
        }
    }

    private func tunnel(_ route: GatewaySession.Route, event: GatewayAuditEvent) {
        guard let context else { return }
        let (inside, outside) = GlueHandler.pair()
        let gateway = gateway
        inside.onClose = { [unowned inside, unowned outside] in
            var event = event
            event.status = 200
            event.bytesUp = inside.bytesRead
            event.bytesDown = outside.bytesRead
            gateway.record(event)
        }
        let loop = context.eventLoop
        let bound = NIOLoopBound(outside, eventLoop: loop)
        let address: SocketAddress
        do { address = try SocketAddress(ipAddress: route.address.description, port: Int(route.port)) } catch {
            refuse(502, "cannot dial \(route.address): \(error)", event: event)
            return
        }
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connectTimeout(.seconds(15))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(bound.value) }
            }
            .connect(to: address)
            .assumeIsolated().whenComplete { result in
                switch result {
                case .failure(let error):
                    self.refuse(
                        502, "cannot connect to \(route.host):\(route.port) (\(route.address)): \(error)", event: event)
                case .success(let upstream):
                    guard let context = self.context else {
                        upstream.close(promise: nil)
                        return
                    }
                    let check = self.serverNameCheck(route, event: event, channel: context.channel)
                    let channel = context.channel
                    self.switchToRaw(context) {
                        let operations = channel.pipeline.syncOperations
                        try operations.addHandler(check)
                        try operations.addHandler(inside)
                    }
                }
            }
    }
}
