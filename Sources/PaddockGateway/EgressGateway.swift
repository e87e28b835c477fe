import Glibc
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PaddockCore

/// The egress gateway: the only way out of a sandbox.
///
/// Per session it listens on a unix socket in the session's host-side control directory (paddock-init relays
/// the sandbox's proxy port to it), so the socket a connection arrives on says which session it is. It speaks
/// HTTP proxy (absolute-URI HTTP and CONNECT), decides every connection with the session's `NetworkPolicy`,
/// resolves names on the host and checks the address it dials, tunnels TLS untouched, and intercepts TLS only
/// for hosts that have a secret, swapping placeholders for values on the way to the secret's own hosts.
public final class EgressGateway: Sendable {
    let logger: Logger
    let group: any EventLoopGroup
    let auditSink: any GatewayAuditSink
    private let auditQueue: GatewayAuditQueue
    let addressGuard = AddressGuard()
    /// Verifies upstream certificates: the system roots plus `extraTrustRoots`.
    let clientTLS: NIOSSLContext
    private let state = NIOLockedValueBox(State())

    struct State {
        var sessions: [SessionID: GatewaySession] = [:]
        var listeners: [SessionID: [any Channel]] = [:]
        var approvalHook: GatewayApprovalHook?
        var resolver: (@Sendable (String) async throws -> [IPAddress])?
    }

    /// - Parameter extraTrustRoots: CAs trusted for upstreams besides the system's (tests trust their
    ///   loopback CA this way).
    public init(
        auditSink: any GatewayAuditSink, extraTrustRoots: [NIOSSLCertificate] = [], logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(PaddockError) {
        self.auditSink = auditSink
        auditQueue = GatewayAuditQueue(sink: auditSink, logger: logger)
        self.logger = logger
        self.group = group
        var configuration = TLSConfiguration.makeClientConfiguration()
        if !extraTrustRoots.isEmpty { configuration.additionalTrustRoots = [.certificates(extraTrustRoots)] }
        configuration.applicationProtocols = ["http/1.1"]
        do { clientTLS = try NIOSSLContext(configuration: configuration) } catch {
            throw .internal("could not set up TLS for upstream connections", underlying: error)
        }
    }

    /// Decides `ask` entries. Without a hook, `ask` is denied and the reason says so.
    public var approvalHook: GatewayApprovalHook? {
        get { state.withLockedValue { $0.approvalHook } }
        set { state.withLockedValue { $0.approvalHook = newValue } }
    }

    /// Replaces host-side resolution (tests map names to loopback this way); nil uses getaddrinfo.
    public func setResolver(_ resolver: (@Sendable (String) async throws -> [IPAddress])?) {
        state.withLockedValue { $0.resolver = resolver }
    }

    func resolve(_ host: String) async throws(PaddockError) -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        if let resolver = state.withLockedValue({ $0.resolver }) {
            do { return try await resolver(host) } catch { throw PaddockError.wrap(error, "resolving \(host) failed") }
        }
        do {
            return try await NIOThreadPool.singleton.runIfActive { () throws -> [IPAddress] in
                try Resolver.resolve(host)
            }
        } catch {
            throw PaddockError.wrap(error, "resolving \(host) failed")
        }
    }

    // MARK: Sessions

    /// Starts serving a session: generates its CA and remembers its secrets and policy (nil denies all).
    @discardableResult
    public func openSession(_ id: SessionID, secrets: [GatewaySecret] = [], policy: NetworkPolicy?) throws(PaddockError)
        -> GatewaySession
    {
        let session = try GatewaySession(id: id, gateway: self, secrets: secrets, policy: policy)
        state.withLockedValue { $0.sessions[id] = session }
        return session
    }

    public func session(_ id: SessionID) -> GatewaySession? { state.withLockedValue { $0.sessions[id] } }

    /// Changes a running session's policy; the next connection and the next request obey it.
    public func setPolicy(session id: SessionID, _ policy: NetworkPolicy?) throws(PaddockError) {
        guard let session = session(id) else {
            throw .notFound("session \(id) has no gateway; it is not running")
        }
        session.setPolicy(policy)
    }

    /// Listens for a session on a unix socket (mode 0666: the directory it lives in is what restricts access).
    public func listen(_ id: SessionID, unixSocket path: String) async throws {
        let session = try existing(id)
        let channel = try await UnixSocketPath.withFittingPath(path) { fitting in
            let channel = try await bootstrap(session, tcp: false).bind(
                unixDomainSocketPath: fitting, cleanupExistingSocketFile: true
            ).get()
            chmod(fitting, 0o666)
            return channel
        }
        state.withLockedValue { $0.listeners[id, default: []].append(channel) }
    }

    /// Listens for a session on a TCP address (benchmarks and host-side tests); returns the port.
    public func listen(_ id: SessionID, host: String = "127.0.0.1", port: Int = 0) async throws -> Int {
        let session = try existing(id)
        let channel = try await bootstrap(session, tcp: true).bind(host: host, port: port).get()
        state.withLockedValue { $0.listeners[id, default: []].append(channel) }
        return channel.localAddress?.port ?? port
    }

    /// Stops a session's listeners and forgets it. Connections already open end with their peers. Returns
    /// once its requests so far are in the audit sink, so they come before whatever the caller records next.
    public func closeSession(_ id: SessionID) async {
        let channels = state.withLockedValue { state -> [any Channel] in
            state.sessions[id] = nil
            return state.listeners.removeValue(forKey: id) ?? []
        }
        for channel in channels {
            do { try await channel.close() } catch {
                logger.debug(
                    "a gateway listener was already closed", metadata: ["session.id": "\(id)", "error": "\(error)"])
            }
        }
        await flushAudit()
    }

    public func shutdown() async {
        let ids = state.withLockedValue { Array($0.sessions.keys) }
        for id in ids { await closeSession(id) }
        await flushAudit()
    }

    /// Waits until every request recorded so far is in the audit sink (events are written in short batches).
    public func flushAudit() async { await auditQueue.flush() }

    private func existing(_ id: SessionID) throws(PaddockError) -> GatewaySession {
        guard let session = session(id) else { throw .notFound("session \(id) has no gateway; open it first") }
        return session
    }

    private func bootstrap(_ session: GatewaySession, tcp: Bool) -> ServerBootstrap {
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
        if tcp {
            bootstrap = bootstrap.serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        }
        return bootstrap.childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try ProxyFrontHandler.install(on: channel, session: session, mode: .proxy)
            }
        }
    }

    func record(_ event: GatewayAuditEvent) {
        if logger.logLevel <= .debug {
            var metadata: Logger.Metadata = [
                "session.id": "\(event.session)", "request.method": "\(event.method)",
                "request.host": "\(event.host):\(event.port)", "request.decision": "\(event.decision)",
            ]
            if let status = event.status { metadata["request.status"] = "\(status)" }
            if let reason = event.reason { metadata["request.reason"] = "\(reason)" }
            logger.debug("egress", metadata: metadata)
        }
        auditQueue.enqueue(event)
    }
}
