import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOSSL
import PaddockCore
import PaddockLinux
import PaddockObservability
import PaddockSandbox
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockWeb
import ServiceLifecycle

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Run the Paddock server (API, sessions, embedded SQLite store).")

    @Option(help: "Where state lives: database, admin token, keys.") var dataDir: String = ".paddock"
    @Option(
        help: """
            Where sandboxes' files live (bundles, layers, sockets); its parents must be traversable by other users. \
            Default: the data directory when they can reach it, else /var/lib/paddock/<hash of the data directory>.
            """)
    var stateDir: String?
    @Option(help: "Address to listen on.") var listen: String = "127.0.0.1:7070"
    @Option(help: "Path of the paddock-init binary (default: next to this executable).") var initBinary: String?
    @Option(
        help: "gVisor's runsc for --provider gvisor (default: .tools/bin/runsc of this build's repository, else PATH).")
    var runsc: String?
    @Option(help: "Largest file upload accepted.") var maxUpload: String = "512MiB"
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"
    @Option(help: "Log format: text (for people) or json (one object per line, ids as fields, for log pipelines).")
    var logFormat: String = "text"
    @Flag(help: "While nobody can sign in yet, print the first admin's one-use sign-up link on the terminal too.")
    var printFirstSignin = false
    @Option(help: "Keep this many warm sandboxes of the host template ready (also `paddock pool set`).")
    var poolSize: Int?
    @Option(help: "Address of the E2B-compatible API (port 0 picks a free one; `off` disables it).")
    var e2bListen: String = "127.0.0.1:7071"
    @Option(help: "An org-wide runtime.yml every session runs under; a session's --policy can only tighten it.")
    var orgPolicy: String?
    @Option(help: "A team's runtime.yml, layered under the org policy (repeatable).") var teamPolicy: [String] = []
    @Option(help: "How long an approval request waits for an answer before it is denied.")
    var approvalTimeout: String = "5m"
    @Option(help: "PEM file of extra CAs the egress gateway trusts for upstream HTTPS (besides the system's).")
    var gatewayTrust: String?
    @Option(help: "Prefix of the branch `paddock submit` pushes (the session id follows).")
    var submitBranchPrefix: String = "paddock/"
    @Option(help: "A cached repository fetched less than this long ago is not fetched again for a new session.")
    var repoRefresh: String = "30s"
    @Option(
        help: "Cap on the repository cache (mirrors and commit layers), such as 20GiB; least recently used go first.")
    var repoCacheSize: String?
    @Option(
        help: ArgumentHelp(
            "Keep ready the branches sessions used within this long (such as 1h): fetched every --repo-refresh, "
                + "their latest commit sealed ahead of the next session. Off by default."))
    var repoPrepare: String?
    @Option(help: "GitHub REST API root: reviews of repositories on GitHub also open a pull request there.")
    var githubApi: String?
    @Option(help: "The vault secret (default team) holding the GitHub token.") var githubTokenSecret = "GITHUB_TOKEN"
    @Option(help: "An origin URL prefix that means GitHub (repeatable; default github.com's https and ssh forms).")
    var githubOrigin: [String] = []
    @Option(help: "PEM file of extra CAs trusted for --github-api.") var githubCa: String?
    @OptionGroup(title: "Coding agents") var agents: AgentOptions
    @OptionGroup(title: "Web sign-in and HTTPS") var web: WebOptions
    @OptionGroup(title: "Triggers from Slack and GitHub") var triggers: TriggerOptions
    @OptionGroup(title: "Previews") var previewOptions: PreviewOptions
    @OptionGroup(title: "Observability") var observability: MetricsOptions

    func run() async throws {
        let dataDirectory = URL(fileURLWithPath: dataDir).standardizedFileURL.path
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw ValidationError("--listen takes HOST:PORT, such as 127.0.0.1:7070")
        }
        let host = String(listen[..<colon])
        let e2bAddress = try Self.e2bAddress(e2bListen)
        let maxUploadBytes = try ByteSize(parsing: maxUpload).bytes
        guard ["text", "json"].contains(logFormat) else {
            throw ValidationError("--log-format is text or json, not '\(logFormat)'")
        }
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            var h: any LogHandler =
                json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            h.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return h
        }
        let logger = Logger(label: "paddock.server")
        // Before anything is traced: the first spans are the recovery's.
        let tracing = try observability.tracing(logger: logger)

        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let lock = try ServerLock(path: dataDirectory + "/server.lock")
        defer { lock.release() }

        let capabilities = await HostCapabilities.probe(runsc: runsc)
        let stateDirectory = try StateDirectory.resolve(
            dataDirectory: dataDirectory, explicit: stateDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        if stateDirectory != dataDirectory {
            // Nothing in the data directory is for sandboxes to reach any more: the store, keys and tokens are root's.
            chmod(dataDirectory, 0o700)
            logger.notice("sandbox state lives in \(stateDirectory)", metadata: ["server.data-dir": "\(dataDirectory)"])
        }
        let provider = try await LocalProvider.make(
            dataDirectory: stateDirectory, initBinary: initBinary ?? Self.siblingInit(), capabilities: capabilities,
            logger: Logger(label: "paddock.provider.local"))
        var providers: [String: any SandboxProvider] = [provider.name: provider]
        // gVisor is offered wherever runsc works (`--provider gvisor`); without it, sessions asking for it are
        // told which providers exist.
        do {
            let gvisor = try await LocalProvider.makeGVisor(
                dataDirectory: stateDirectory, initBinary: initBinary ?? Self.siblingInit(),
                capabilities: capabilities, logger: Logger(label: "paddock.provider.gvisor"))
            providers[gvisor.name] = gvisor
        } catch {
            logger.notice("the gvisor provider is not available", metadata: ["reason": "\(error)"])
        }
        let store = try SQLiteStore(path: dataDirectory + "/paddock.sqlite")
        let sessions = SessionService(store: store, providers: providers, logger: Logger(label: "paddock.sessions"))
        try await sessions.guardrails.configure(
            org: orgPolicy, teams: teamPolicy, approvalTimeout: try DurationText.parse(approvalTimeout))
        let vault = try SecretVault(store: store, keyFile: dataDirectory + "/vault.key")
        let network = try SessionNetwork.make(
            dataDirectory: dataDirectory, vault: vault, extraTrustFile: gatewayTrust,
            logger: Logger(label: "paddock.gateway"), audit: sessions.auditRecorder)
        await sessions.setNetwork(network)
        var clones = try RepositoryClones(
            root: dataDirectory + "/repos", branchPrefix: submitBranchPrefix,
            refreshWindow: try DurationText.parse(repoRefresh))
        clones.cacheLimit = try repoCacheSize.map { try ByteSize(parsing: $0).bytes }
        if let githubApi {
            clones.github = try GitHubPullRequests(
                apiURL: githubApi, tokenSecret: githubTokenSecret,
                origins: githubOrigin.isEmpty ? GitHubPullRequests.defaultOrigins : githubOrigin,
                extraTrustRoots: try githubCa.map { try NIOSSLCertificate.fromPEMFile($0) } ?? [])
        }
        await sessions.setRepositories(clones)
        try await sessions.recover()
        if let poolSize {
            _ = try await WarmPoolService(sessions: sessions).set(
                provider: "local", template: "host", size: poolSize, by: .system)
        }
        let claude = try await agents.mountBinaries(into: provider)
        let runs = RunService(
            sessions: sessions, store: store, teams: store, configuration: try agents.configuration(),
            logger: Logger(label: "paddock.runs"))
        try await runs.recover()
        await ModelMetering(sessions: sessions, store: store, runs: runs, logger: Logger(label: "paddock.metering"))
            .connect()
        let tokens = TokenService(store: store)
        let tokenPath = dataDirectory + "/admin.token"
        let (_, created) = try await tokens.ensureAdminToken(at: tokenPath)
        logger.notice(
            "\(created ? "created the admin token" : "admin token") in \(tokenPath) (mode 0600)",
            metadata: [
                "server.runtime": "\(provider.runtime.kind.rawValue)",
                "server.cgroups": "\(capabilities.cgroupMode.rawValue)",
                "server.claude-code": "\(claude ?? "not installed (scripts/install-python.sh)")",
            ])

        var configuration = try web.apply(
            to: ServerConfiguration(
                host: host, port: port, maxUploadBytes: Int(clamping: maxUploadBytes), vault: vault, runs: runs),
            store: store, trail: sessions.orgTrail)
        configuration.webPages = try await PageRenderer.load()
        // Automations start work through projects, as their run-as person; it picks up what was stored and not
        // processed before a restart as soon as the service group starts it.
        let automations = try AutomationService(
            projects: ProjectService(sessions: sessions, vault: vault, runs: runs),
            integrations: try triggers.integrations(
                publicURL: web.publicUrl, githubAPI: githubApi, githubToken: githubTokenSecret),
            logger: Logger(label: "paddock.automations"))
        configuration.automations = automations
        let previewing = try await previewOptions.make(
            sessions: sessions, store: store, tokens: tokens, configuration: configuration,
            uiBaseURL: configuration.baseURL(port: port), dataDirectory: dataDirectory, logger: logger)
        configuration.previews = previewing?.0
        let firstSignIn = try await configuration.signIn?.invites.firstAdminInvite()
        let serving = configuration
        let app = buildApplication(
            sessions: sessions, tokens: tokens, configuration: serving,
            logger: logger,
            onServerRunning: { port in
                Self.announce("api", host: host, port: port, dataDirectory: dataDirectory, logger)
                if let firstSignIn {
                    Self.announceFirstSignIn(
                        firstSignIn, base: serving.baseURL(port: port), dataDirectory: dataDirectory,
                        print: printFirstSignin, logger)
                }
            })
        // Shut down in reverse order: the doors close first, then the reaper and the pools, then the runs'
        // tasks are cancelled, and the gateway flushes its audit events last.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: network), .init(service: runs), .init(service: automations),
            .init(service: WarmPoolService(sessions: sessions)),
            .init(service: SessionReaper(sessions: sessions)), .init(service: app),
        ]
        if let proxy = previewing?.1 { services.append(.init(service: proxy)) }
        if let repoPrepare {
            services.append(
                .init(
                    service: RepositoryPrepareService(
                        sessions: sessions, interval: max(.seconds(1), try DurationText.parse(repoRefresh)),
                        recent: try DurationText.parse(repoPrepare))))
        }
        // First in, so last out: it flushes the spans of everything else's shutdown.
        if let tracing { services.insert(.init(service: tracing), at: 0) }
        if let metrics = try observability.make(sessions: sessions, dataDirectory: dataDirectory, logger: logger) {
            services.append(.init(service: metrics))
        }
        if case let (e2bHost, e2bPort)? = e2bAddress {
            var e2bConfiguration = E2BConfiguration(
                host: e2bHost, port: e2bPort, maxUploadBytes: Int(clamping: maxUploadBytes))
            e2bConfiguration.previews = previewing?.0
            services.append(
                .init(
                    service: buildE2BApplication(
                        sessions: sessions, tokens: tokens,
                        configuration: e2bConfiguration,
                        logger: Logger(label: "paddock.e2b"),
                        onServerRunning: {
                            Self.announce("e2b", host: e2bHost, port: $0, dataDirectory: dataDirectory, logger)
                        })))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        for provider in providers.values { await provider.shutdown() }
    }

    /// paddock-init is built next to paddock (`.build/<config>/`), and installed next to it too.
    static func siblingInit() -> String {
        URL(fileURLWithPath: ThisExecutable.path).deletingLastPathComponent().appendingPathComponent("paddock-init")
            .path
    }
}

/// An exclusive lock on the data directory: two servers managing the same sandboxes would destroy each
/// other's work during recovery.
struct ServerLock {
    let fd: Int32

    init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PaddockError.unavailable("cannot open \(path)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw PaddockError.conflict(
                "another paddock server is already using \(URL(fileURLWithPath: path).deletingLastPathComponent().path); stop it or pass a different --data-dir"
            )
        }
    }

    func release() { close(fd) }
}
