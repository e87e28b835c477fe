import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import PaddockCore

/// CONNECT host:port: decided like any request; then either a plain tunnel, or — for hosts with a secret — TLS
/// terminated with the session CA so requests can be read and placeholders swapped. Either way the client's TLS
/// server name must be the CONNECT host.
extension ProxyFrontHandler {
    func authorizeConnect(host: String, port: UInt16) {
        guard let context else { return }
        let session = session
        context.eventLoop.makeFutureWithTask { await session.authorize(host: host, port: port) }
            .assumeIsolated().whenSuccess { result in self.run(self.machine.connectDecided(result)) }
    }

    func prepareIntercept(_ route: GatewaySession.Route) {
        let tls: NIOSSLContext
        do { tls = try session.serverContext(for: route.host) } catch {
            run(machine.interceptFailed("\(error)"))
            return
        }
        handover = .intercept(tls)
        run(machine.interceptReady())
    }

    func switchToIntercept(_ route: GatewaySession.Route, event: GatewayAuditEvent) {
        guard let context, case .intercept(let tls) = handover else {
            context?.close(promise: nil)
            return
        }
        handover = nil
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

    func dialTunnel(_ route: GatewaySession.Route, event: GatewayAuditEvent) {
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
            run(machine.tunnelConnectFailed(.address("\(error)")))
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
                    self.run(self.machine.tunnelConnectFailed(.connect("\(error)")))
                case .success(let channel):
                    self.handover = .tunnel(channel, inside: inside)
                    self.run(self.machine.tunnelConnected())
                }
            }
    }

    func switchToTunnel(_ route: GatewaySession.Route, event: GatewayAuditEvent) {
        guard let context, case .tunnel(_, let inside) = handover else {
            dropHandover()
            context?.close(promise: nil)
            return
        }
        let check = serverNameCheck(route, event: event, channel: context.channel)
        let channel = context.channel
        switchToRaw(context) {
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(check)
            try operations.addHandler(inside)
            // Joined: the tunnel is the connection's now, and records itself when it ends.
            self.handover = nil
        }
    }

    /// Checks the TLS ClientHello's server name against the CONNECT host, before any byte goes further.
    private func serverNameCheck(_ route: GatewaySession.Route, event: GatewayAuditEvent, channel: any Channel)
        -> ByteToMessageHandler<SNIHandler>
    {
        let loop = channel.eventLoop
        let gateway = gateway
        return ByteToMessageHandler(
            SNIHandler { result in
                guard let problem = Machine.serverNameProblem(result, route: route) else {
                    return loop.makeSucceededVoidFuture()
                }
                var event = event
                event.decision = "deny"
                event.reason = problem
                gateway.record(event)
                channel.close(promise: nil)
                return loop.makeFailedFuture(PaddockError.permissionDenied(problem))
            })
    }

    /// Takes the HTTP codec out, answers 200 on the raw connection, then installs the handlers that take over
    /// and removes this one. When that fails, the machine decides what is recorded and the connection closes.
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
                    self.run(self.machine.switchFailed("\(error)"))
                    context.close(promise: nil)
                }
            }
    }
}
