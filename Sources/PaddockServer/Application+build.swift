import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOSSL
import PaddockAPI
import PaddockCore
import PaddockServices
import PaddockStore
import PaddockWeb

/// Everything the HTTP application needs, built by the executable (which picks the concrete providers).
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The largest file upload accepted, in bytes.
    public var maxUploadBytes: Int
    /// The secrets vault behind `/v1/secrets`; without one those routes do not exist.
    public var vault: SecretVault?
    /// Agent runs behind `/v1/sessions/{id}/runs`, `/v1/runs` and `/v1/usage`; without it those routes do not
    /// exist.
    public var runs: RunService?
    /// How long a connection may wait for its first request, and sit idle between requests.
    public var timeouts: ConnectionTimeouts
    /// Automations behind `/v1/automations` and `/hooks/*`; without it those routes do not exist.
    public var automations: AutomationService?
    /// The web UI's templates; without them the server has no pages.
    public var webPages: PageRenderer?
    /// How the pages sign people in; nil: through `signIn`'s browser sessions (tests put their own here).
    public var webAuthenticator: (any WebAuthenticator)?
    /// People signing in to the web UI (`/auth/*`, session cookies, `/v1/invites`); nil: tokens only.
    public var signIn: SignInService?
    /// Serve HTTPS directly with this certificate and key (`--tls-cert`, `--tls-key`); nil: plain HTTP.
    public var tls: TLSConfiguration?
    /// Previews behind `/v1/sessions/{id}/previews` and `/previews/authorize`; without it those routes do not exist.
    public var previews: PreviewService?

    public init(
        host: String = "127.0.0.1", port: Int = 7070, maxUploadBytes: Int = 512 << 20, vault: SecretVault? = nil,
        runs: RunService? = nil, timeouts: ConnectionTimeouts = ConnectionTimeouts()
    ) {
        self.timeouts = timeouts
        self.vault = vault
        self.runs = runs
        self.host = host
        self.port = port
        self.maxUploadBytes = maxUploadBytes
    }
}

/// The router of the `/v1` API. Tests call it in-process; production wraps it in `buildApplication`.
public func buildRouter(sessions: SessionService, tokens: TokenService, configuration: ServerConfiguration) -> Router<
    PaddockRequestContext
> {
    let router = Router(context: PaddockRequestContext.self)
    router.middlewares.add(RequestTracingMiddleware())
    router.middlewares.add(StreamsEndOnShutdown())
    router.middlewares.add(ErrorMiddleware())
    var authorizer = RouteAuthorizer(access: tokens.access, sessions: sessions)
    authorizer.runs = configuration.runs
    let browser = configuration.browserAuthenticator
    let projects = ProjectService(sessions: sessions, vault: configuration.vault, runs: configuration.runs)
    let mcp = MCPRoutes(
        door: MCPDoor(
            tools: MCPTools(
                sessions: sessions, authorizer: authorizer, runs: configuration.runs, previews: configuration.previews,
                projects: projects), logger: Logger(label: "paddock.mcp")), tls: configuration.tls != nil)
    router.middlewares.add(MCPChallengeMiddleware(routes: mcp))
    router.middlewares.add(TokenAuthMiddleware(tokens: tokens, authorizer: authorizer, browser: browser))
    mcp.addRoutes(to: router)
    // Open to anyone, so it says only that the server is up: no counts, versions or host details.
    router.get("/v1/health") { _, _ -> HealthBody in HealthBody(status: "ok") }
    let pools = WarmPoolService(sessions: sessions)
    router.get("/v1/pools") { _, _ -> PoolListBody in PoolListBody(pools: try await pools.list()) }
    router.put("/v1/pools/:template") { request, context -> PoolStatus in
        let body = try await request.decode(as: PoolBody.self, context: context)
        guard let template = context.parameters.get("template") else {
            throw PaddockError.invalidArgument("missing template in the path")
        }
        return try await pools.set(
            provider: body.provider ?? "local", template: template, size: body.size, by: try context.caller())
    }
    let group = router.group("/v1/sessions")
    SessionController(sessions: sessions, authorizer: authorizer).addRoutes(to: group)
    let audit = AuditController(sessions: sessions)
    audit.addRoutes(to: group)
    audit.addOrgRoutes(to: router)
    let access = AccessService(tokens: tokens, trail: sessions.orgTrail)
    AccessController(service: access).addRoutes(to: router)
    OrgController(stops: EmergencyStopService(sessions: sessions), service: access).addRoutes(to: router)
    ExecController(sessions: sessions).addRoutes(to: group)
    ResourceController(monitor: ResourceMonitor(sessions: sessions)).addRoutes(to: router, sessions: group)
    FileController(files: SessionFiles(sessions: sessions), maxUploadBytes: configuration.maxUploadBytes).addRoutes(
        to: group)
    SnapshotController(snapshots: SnapshotService(sessions: sessions)).addRoutes(
        sessions: group, snapshots: router.group("/v1/snapshots"))
    TemplateController(sessions: sessions).addRoutes(to: router.group("/v1/templates"))
    ProjectController(projects: projects).addRoutes(to: router.group("/v1/projects"))
    RepoController(repos: RepositoryCacheService(sessions: sessions)).addRoutes(to: router.group("/v1/repos"))
    GuardrailController(sessions: sessions).addRoutes(to: router)
    NetworkController(sessions: sessions).addRoutes(to: group)
    ReviewController(reviews: ReviewService(sessions: sessions), changes: ChangeService(sessions: sessions))
        .addRoutes(to: router)
    if let runs = configuration.runs { RunController(runs: runs).addRoutes(to: router) }
    if let automations = configuration.automations {
        AutomationController(automations: automations).addRoutes(to: router.group("/v1/automations"))
        HookController(automations: automations).addRoutes(to: router.group("/hooks"))
        IdentityLinkController(automations: automations).addRoutes(to: router.group("/v1/identity-links"))
        router.post("/v1/projects/:project/automations") { _, context -> AppliedAutomationsBody in
            let applied = try await automations.apply(
                project: try context.requiredParameter("project", "project name"), by: try context.caller())
            return AppliedAutomationsBody(automations: applied.map { AutomationBody($0.0, secret: $0.secret) })
        }
    }
    if let browser {
        AuthController(browser: browser).addRoutes(to: router)
        InviteController(signIn: browser.signIn).addRoutes(to: router)
    }
    if let vault = configuration.vault {
        SecretController(secrets: SecretService(vault: vault, trail: sessions.orgTrail))
            .addRoutes(to: router.group("/v1/secrets"))
    }
    if let previews = configuration.previews {
        PreviewController(previews: previews, browser: browser).addRoutes(sessions: group, router: router)
    }
    if let pages = configuration.webPages, let authenticator = configuration.webAuthenticator ?? browser {
        var web = WebRoutes<PaddockRequestContext>(
            pages: pages, authenticator: authenticator, sessions: sessions, runs: configuration.runs, access: access,
            invites: configuration.signIn?.invites, vault: configuration.vault)
        web.previews = configuration.previews
        web.addRoutes(to: router)
    }
    return router
}

/// The HTTP application: the `/v1` router served over HTTP/1.1 with WebSocket upgrades. A malformed request is
/// answered 400 and its connection closed; silent and idle connections time out (`ConnectionTimeouts`).
public func buildApplication(
    sessions: SessionService, tokens: TokenService, configuration: ServerConfiguration, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = buildRouter(sessions: sessions, tokens: tokens, configuration: configuration)
    return Application(
        router: router,
        server: .guardedHTTP1WebSocketUpgrade(
            webSocketRouter: router, timeouts: configuration.timeouts, tls: configuration.tls),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "paddock"),
        onServerRunning: { await onServerRunning($0.localAddress?.port ?? configuration.port) },
        logger: logger)
}
