import Foundation
import Hummingbird
import Logging
import NIOCore
import PaddockCore
import PaddockServices

/// Settings of the E2B-compatible listener (`paddock server --e2b-listen`).
public struct E2BConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var maxUploadBytes: Int
    /// A stream with nothing to say sends a keepalive this often.
    public var keepalive: Duration
    /// How long a connection may wait for its first request, and sit idle between requests.
    public var timeouts: ConnectionTimeouts
    /// Previews: sandboxes report the preview domain, so the SDK's `get_host(port)` names a host the preview
    /// listener serves (`P-<id>.<domain>[:port]`); nil: no domain is reported.
    public var previews: PreviewService?

    public init(
        host: String = "127.0.0.1", port: Int = 7071, maxUploadBytes: Int = 512 << 20,
        keepalive: Duration = .seconds(10), timeouts: ConnectionTimeouts = ConnectionTimeouts()
    ) {
        self.timeouts = timeouts
        self.host = host
        self.port = port
        self.maxUploadBytes = maxUploadBytes
        self.keepalive = keepalive
    }
}

/// The router of the E2B-compatible API: control-plane REST and in-sandbox routes on one port, told
/// apart by the `E2b-Sandbox-Id` header. Tests call it in-process; production serves it with
/// `buildE2BApplication`.
public func buildE2BRouter(sessions: SessionService, tokens: TokenService, configuration: E2BConfiguration)
    -> Router<E2BRequestContext>
{
    let router = Router(context: E2BRequestContext.self)
    let authorizer = RouteAuthorizer(access: tokens.access, sessions: sessions)
    let files = SessionFiles(sessions: sessions)
    router.middlewares.add(StreamsEndOnShutdown())
    router.middlewares.add(E2BErrorMiddleware())
    let accessTokens = E2BAccessTokens {
        Set(try await sessions.list(includeEnded: false).map(\.id.rawValue))
    }
    router.middlewares.add(
        E2BAuthMiddleware(authenticator: E2BAuthenticator(tokens: tokens), accessTokens: accessTokens))
    router.middlewares.add(
        E2BSandboxTrafficMiddleware(
            sessions: sessions,
            process: EnvdProcessService(
                sessions: sessions, table: EnvdProcessTable(), keepalive: configuration.keepalive),
            filesystem: EnvdFilesystemService(
                files: files, watchers: EnvdWatchers(), keepalive: configuration.keepalive),
            files: EnvdFilesController(files: files, maxUploadBytes: configuration.maxUploadBytes),
            codeInterpreter: CodeInterpreterService(sessions: sessions, kernels: PythonKernels()),
            ports: SandboxPortProxy(sessions: sessions)))
    router.get("/health") { _, _ in Response(status: .ok) }
    let previews = configuration.previews
    E2BControlPlaneController(
        sessions: sessions, authorizer: authorizer, accessTokens: accessTokens,
        previewDomain: {
            previews.map { p in p.address.domain + (p.address.port.map { ":\($0)" } ?? "") }
        }
    ).addRoutes(to: router)
    let templates = TemplateService(sessions: sessions)
    E2BTemplateController(
        builds: E2BTemplateBuilds(templates: templates, logger: Logger(label: "paddock.e2b.templates")),
        templates: templates
    ).addRoutes(to: router)
    return router
}

/// The E2B-compatible HTTP/1.1 server. `onServerRunning` reports the bound port (useful with port 0).
public func buildE2BApplication(
    sessions: SessionService, tokens: TokenService, configuration: E2BConfiguration, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    Application(
        router: buildE2BRouter(sessions: sessions, tokens: tokens, configuration: configuration),
        server: .guardedHTTP1(timeouts: configuration.timeouts),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "paddock-e2b"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}
