import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PaddockCore
import PaddockSandbox
import PaddockServices
import ServiceLifecycle
import Synchronization

/// Where the preview listener binds and what it needs to know.
public struct PreviewServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Serve HTTPS with this (wildcard) certificate; nil: plain HTTP.
    public var tls: TLSConfiguration?
    /// Largest request body passed to an app, in bytes (the server's upload limit).
    public var maxUploadBytes: Int
    /// The web UI's base URL, where a browser without the preview cookie goes to be let in; nil: such browsers
    /// are refused (API clients send a bearer token).
    public var signInBaseURL: String?
    /// A browser connection with no request in flight is closed after `idle` without a byte from it (a
    /// request head that trickles in counts as idle once it stalls); a request or a tunnel in flight is never
    /// cut by this.
    public var timeouts = ConnectionTimeouts()

    public init(
        host: String = "127.0.0.1", port: Int = 7072, tls: TLSConfiguration? = nil, maxUploadBytes: Int = 512 << 20,
        signInBaseURL: String? = nil
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.maxUploadBytes = maxUploadBytes
        self.signInBaseURL = signInBaseURL
    }
}

/// The preview listener: `P-<session>.<domain>` is routed by its Host header to port P inside the session,
/// through paddock-init's port relay (no sandbox has an IP). Each request head is read, checked
/// (`PreviewService` grants) and rewritten (`PreviewRewrite`); bodies and answers then pass as bytes, so
/// chunked and streaming answers (SSE) flow as they are made, and a WebSocket upgrade becomes a byte tunnel.
/// The browser's connection is kept alive across requests, and so is the one to the app when its answers are
/// framed (a length or chunks), so where each answer ends is never in doubt.
public struct PreviewProxy: Service {
    /// The preview host's own cookie: a signed grant, host-only, never passed to the app.
    public static let cookieName = "paddock_preview"
    let previews: PreviewService
    let tokens: TokenService
    let configuration: PreviewServerConfiguration
    let logger: Logger
    let onServerRunning: @Sendable (Int) async -> Void

    public init(
        previews: PreviewService, tokens: TokenService, configuration: PreviewServerConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.previews = previews
        self.tokens = tokens
        self.configuration = configuration
        self.logger = logger
        self.onServerRunning = onServerRunning
    }

    public func run() async throws {
        let sslContext = try configuration.tls.map { try NIOSSLContext(configuration: $0) }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { [timeouts = configuration.timeouts] child in
                child.eventLoop.makeCompletedFuture {
                    let state = PreviewConnectionState()
                    if let sslContext {
                        try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try child.pipeline.syncOperations.addHandlers(
                        IdleStateHandler(readTimeout: TimeAmount(timeouts.idle)),
                        PreviewIdleCloser(state: state, headTimeout: TimeAmount(timeouts.firstRequest)))
                    return (
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child), state
                    )
                }
            }
        await onServerRunning(server.channel.localAddress?.port ?? configuration.port)
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await (connection, state) in inbound {
                        // The connection is served on its own event loop, and so is what it opens in a sandbox.
                        let executor = EventLoopTaskExecutor(connection.channel.eventLoop)
                        group.addTask(executorPreference: executor) {
                            await ConnectionAffinity.$executor.withValue(executor) {
                                await serve(connection, state: state)
                            }
                        }
                    }
                }
                // Open keep-alive connections and tunnels end with the server.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, state: PreviewConnectionState) async {
        let remote = connection.channel.remoteAddress?.ipAddress
        let channel = connection.channel
        let revocations = PreviewRevocationWatch(channel: channel)
        defer { revocations.end() }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var client = ClientBytes(iterator: inbound.makeAsyncIterator())
                var kept: KeptUpstream?
                var admission: PreviewAdmission?
                do {
                    try await requests(
                        &client, &kept, &admission, remote: remote, outbound: outbound, channel: channel,
                        revocations: revocations, state: state)
                } catch {
                    await kept?.connection.close()
                    throw error
                }
                await kept?.connection.close()
            }
        } catch {
            logger.debug("preview connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Answers the browser's requests one after another until either side ends the connection.
    func requests(
        _ client: inout ClientBytes, _ kept: inout KeptUpstream?, _ admission: inout PreviewAdmission?,
        remote: String?,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, channel: any Channel,
        revocations: PreviewRevocationWatch, state: PreviewConnectionState
    ) async throws {
        while let bytes = try await client.readHead() {
            guard let head = PreviewHTTPHead(bytes), head.isRequest else {
                try await outbound.write(
                    ByteBuffer(bytes: PreviewPages.message(400, "Bad Request", "Bad request", "This is not HTTP/1.1.")))
                return
            }
            let visit = Visit(
                proxy: self, head: head, remote: remote, outbound: outbound, channel: channel, revocations: revocations)
            state.setBusy(true)
            let more = try await visit.answer(&client, &kept, &admission)
            state.setBusy(false)
            guard more else { return }
        }
    }

    /// The URL of the UI page that lets a signed-in browser in, coming back to `next`.
    func signInURL(session: SessionID, port: UInt16, next: String, share: String?) -> String? {
        guard var base = configuration.signInBaseURL else { return nil }
        while base.hasSuffix("/") { base.removeLast() }
        var query = [("session", session.rawValue), ("port", String(port)), ("next", next)]
        if let share { query.append(("share", share)) }
        return base + "/previews/authorize?"
            + query.map { "\($0)=\(Self.encode($1))" }.joined(separator: "&")
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    func cookie(for grant: PreviewGrant) throws -> String {
        let seconds = max(1, Int(grant.expiresAt.timeIntervalSinceNow))
        return
            "\(Self.cookieName)=\(try previews.cookieValue(grant)); Path=/; Max-Age=\(seconds); HttpOnly; SameSite=Lax"
            + (previews.address.scheme == "https" ? "; Secure" : "")
    }
}

/// Bytes from the browser: what was read past the last head or body, then the socket.
struct ClientBytes {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var buffer: [UInt8] = []

    /// The next request head, or nil when the browser closed between requests.
    mutating func readHead() async throws -> [UInt8]? {
        while true {
            // Blank lines between requests are allowed (RFC 9112 §2.2).
            while buffer.count >= 2, buffer[0] == 0x0d, buffer[1] == 0x0a { buffer.removeFirst(2) }
            if let end = PreviewHTTPHead.end(in: buffer) {
                let head = Array(buffer[..<end])
                buffer.removeFirst(end)
                return head
            }
            guard buffer.count <= PreviewHTTPHead.maxBytes else {
                throw PreviewProxyError.malformed("the request head is larger than 64 KiB")
            }
            guard let next = try await iterator.next() else {
                if buffer.isEmpty { return nil }
                throw PreviewProxyError.malformed("the browser closed in the middle of a request head")
            }
            buffer += next.readableBytesView
        }
    }

    /// The next bytes (buffered first); nil when the browser closed.
    mutating func next() async throws -> [UInt8]? {
        if !buffer.isEmpty {
            defer { buffer = [] }
            return buffer
        }
        guard let next = try await iterator.next() else { return nil }
        return Array(next.readableBytesView)
    }

    mutating func unread(_ bytes: ArraySlice<UInt8>) { if !bytes.isEmpty { buffer = Array(bytes) + buffer } }
}

/// Whether a browser connection has a request (or a tunnel) in flight, and how many request heads it completed,
/// for `PreviewIdleCloser`.
final class PreviewConnectionState: Sendable {
    private let busy = Atomic<Bool>(false)
    private let completedHeads = Atomic<Int>(0)
    func setBusy(_ value: Bool) {
        if value { completedHeads.add(1, ordering: .relaxed) }
        busy.store(value, ordering: .relaxed)
    }
    var isBusy: Bool { busy.load(ordering: .relaxed) }
    var heads: Int { completedHeads.load(ordering: .relaxed) }
}

/// Closes a browser connection that sat silent past the idle timeout with nothing in flight, and one whose request
/// head is not complete within `headTimeout` of its first byte: a head trickled in a byte at a time never looks
/// idle, and would otherwise hold the connection for ever.
final class PreviewIdleCloser: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let state: PreviewConnectionState
    let headTimeout: TimeAmount
    /// Armed by the first bytes read between requests. A head that completes leaves it to expire harmlessly, so
    /// the next head's deadline may start late by up to one timeout: bounded, and one timer per connection.
    private var headTimer: Scheduled<Void>?

    init(state: PreviewConnectionState, headTimeout: TimeAmount) {
        self.state = state
        self.headTimeout = headTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if headTimer == nil, !state.isBusy {
            let heads = state.heads
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            headTimer = context.eventLoop.assumeIsolated().scheduleTask(in: headTimeout) { [self] in
                headTimer = nil
                if state.heads == heads, !state.isBusy { bound.value.close(promise: nil) }
            }
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) { headTimer?.cancel() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, !state.isBusy {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
