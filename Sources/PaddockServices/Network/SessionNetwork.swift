import Foundation
import Logging
import NIOSSL
import PaddockConfig
import PaddockCore
import PaddockGateway
import PaddockSandbox
import Synchronization

/// Connects sessions to the egress gateway: opens a session's gateway (its CA, its secrets, its policy) when
/// the sandbox starts, installs the CA in the sandbox, and gives commands the proxy and CA variables and a
/// placeholder for each secret. The values stay here.
public final class SessionNetwork: Sendable {
    public let gateway: EgressGateway
    public let vault: SecretVault
    let logger: Logger
    /// Counts the gateway's requests for the metrics (nil when the gateway was built without it, in tests).
    public let metrics: MetricsGatewaySink?
    /// CAs of sessions adopted while frozen, to install when they run again.
    private let pendingCA = Mutex<[SessionID: [UInt8]]>([:])

    public init(gateway: EgressGateway, vault: SecretVault, logger: Logger, metrics: MetricsGatewaySink? = nil) {
        self.gateway = gateway
        self.vault = vault
        self.logger = logger
        self.metrics = metrics
    }

    /// Inside the sandbox: the proxy (paddock-init's relay) and the CA files.
    public static let proxyURL = "http://127.0.0.1:\(SandboxLayout.egressProxyPort)"
    /// Written by the sandbox's root into a root-owned directory (the template's `/etc` belongs to the host and
    /// is read-only inside), so the sandbox user can read but not replace them.
    public static let caDirectory = "/tmp/.paddock-ca"
    public static let sessionCAPath = "\(caDirectory)/session-ca.pem"
    /// The host's system roots plus the session CA.
    public static let bundlePath = "\(caDirectory)/ca-bundle.pem"
    static let hostBundle = "/etc/ssl/certs/ca-certificates.crt"

    /// Variables every command of a session gets.
    public static var environment: [String: String] {
        var env: [String: String] = [:]
        for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
            env[name] = proxyURL
        }
        env["NO_PROXY"] = "localhost,127.0.0.1,::1"
        env["no_proxy"] = env["NO_PROXY"]
        for name in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"] {
            env[name] = bundlePath
        }
        env["NODE_EXTRA_CA_CERTS"] = sessionCAPath
        return env
    }

    /// Checks a spec's secrets and network rules before anything is created.
    func validate(_ spec: SessionSpec, team: String?) async throws {
        try await vault.checkOpens(spec, team: team)
        _ = try Self.policy(layers: [], session: spec.network)
    }

    /// The session's network guardrail: the runtime.yml layers (org → team → repository → session file)
    /// followed by the rules set with `paddock session network`, strictest layer winning, so neither the file
    /// nor the command can open what a higher layer closes. Nil (deny everything) when nothing sets a rule.
    static func policy(layers: [PolicyRuleSet], session rules: PolicyRuleSet?) throws(PaddockError) -> NetworkPolicy? {
        var all = layers
        if let rules, !rules.isEmpty { all.append(rules) }
        guard !all.isEmpty else { return nil }
        return try NetworkPolicy(layers: all, fallback: .deny)
    }

    static func policy(for session: Session) throws(PaddockError) -> NetworkPolicy? {
        try policy(layers: session.effectivePolicy()?.network ?? [], session: session.spec.network)
    }

    /// Opens the session's gateway and prepares its sandbox. Adds the placeholders and proxy variables to the
    /// session's environment; a placeholder already there (a session adopted after a restart) is kept.
    ///
    /// With `installCA: false` nothing is asked of the sandbox (a frozen one cannot answer, and recovery must
    /// not wait on one): the gateway listens at once, and the session's new CA goes into the sandbox with
    /// `installPendingCA` when it runs again.
    func attach(_ session: inout Session, provider: any SandboxProvider, installCA: Bool = true) async throws {
        var secrets: [GatewaySecret] = []
        let effective = try session.effectivePolicy()
        for name in session.spec.secrets ?? [] {
            let (value, info) = try await vault.open(name: name, team: session.team)
            let existing = session.spec.env[name].flatMap { $0.hasPrefix("PADDOCK-PLACEHOLDER-") ? $0 : nil }
            let placeholder = existing ?? GatewaySecret.makePlaceholder(forValueOfLength: value.count)
            secrets.append(
                try GatewaySecret(
                    name: name, value: value, placeholder: placeholder, hosts: info.hosts, allowHTTP: info.allowHTTP,
                    inBody: info.inBody,
                    narrowedBy: effective?.hostLists(forSecret: name) ?? []))
            session.spec.env[name] = placeholder
        }
        let gatewaySession = try gateway.openSession(
            session.id, secrets: secrets,
            policy: Self.policy(layers: effective?.network ?? [], session: session.spec.network))
        do {
            guard let socket = provider.egressSocketPath(session.id) else {
                logger.notice(
                    "the session's provider cannot reach the gateway; nothing leaves its sandbox",
                    metadata: ["session.id": "\(session.id)", "session.provider": "\(provider.name)"])
                return
            }
            try await gateway.listen(session.id, unixSocket: socket)
            let pem = Array(try gatewaySession.authority.pem.utf8)
            if installCA {
                try await Self.writeCA(pem, into: session.id, provider: provider)
            } else {
                pendingCA.withLock { $0[session.id] = pem }
            }
            session.spec.env.merge(Self.environment) { _, new in new }
        } catch {
            await gateway.closeSession(session.id)
            throw PaddockError.wrap(error, "connecting the session to the egress gateway failed")
        }
        logger.info(
            "session connected to the egress gateway",
            metadata: [
                "session.id": "\(session.id)", "session.secrets": "\(secrets.map(\.name))",
                "session.network": "\(session.spec.network?.rules.map(\.description) ?? [])",
            ])
    }

    /// Writes the session CA (and the bundle with the host's roots) where the session's commands look for it.
    private static func writeCA(_ pem: [UInt8], into id: SessionID, provider: any SandboxProvider) async throws {
        let system = FileManager.default.contents(atPath: Self.hostBundle).map(Array.init) ?? []
        _ = try await provider.initClient(id).makeDirectory(path: Self.caDirectory, user: .root)
        try await provider.initClient(id).writeFile(
            path: Self.sessionCAPath, mode: 0o644, user: .root, append: false, data: .of(pem))
        try await provider.initClient(id).writeFile(
            path: Self.bundlePath, mode: 0o644, user: .root, append: false, data: .of(system + [0x0A] + pem))
    }

    /// Installs a CA that `attach(installCA: false)` left for later, now that the sandbox runs. Without this, the
    /// sandbox would still trust the previous server's CA and every HTTPS request through the gateway would fail.
    func installPendingCA(_ id: SessionID, provider: any SandboxProvider) async throws {
        guard let pem = pendingCA.withLock({ $0[id] }) else { return }
        try await Self.writeCA(pem, into: id, provider: provider)
        pendingCA.withLock { $0[id] = nil }
    }

    func detach(_ id: SessionID) async {
        pendingCA.withLock { $0[id] = nil }
        await gateway.closeSession(id)
    }

    /// Applies a session's (new) rules to its running gateway, under its runtime.yml layers.
    func apply(_ session: Session) throws(PaddockError) {
        try gateway.setPolicy(session: session.id, Self.policy(for: session))
    }
}

extension BackpressuredStream where Element == [UInt8] {
    /// A stream of one chunk.
    static func of(_ bytes: [UInt8]) -> BackpressuredStream<[UInt8]> {
        BackpressuredStream { channel in await channel.send(bytes) }
    }
}

extension SessionNetwork {
    /// The server's gateway: audit events in `<data-dir>/gateway-audit/<session>.jsonl` until the audit trail
    /// takes them, upstream TLS verified against the system roots plus `extraTrustFile` (PEM).
    /// - Parameter audit: the audit trail each request is recorded in (besides `<data>/gateway-audit`).
    public static func make(
        dataDirectory: String, vault: SecretVault, extraTrustFile: String?, logger: Logger,
        audit: (any AuditRecorder)? = nil
    ) throws -> SessionNetwork {
        var roots: [NIOSSLCertificate] = []
        if let extraTrustFile {
            do { roots = try NIOSSLCertificate.fromPEMFile(extraTrustFile) } catch {
                throw PaddockError(
                    .invalidArgument, "--gateway-trust \(extraTrustFile) is not a readable PEM file of certificates",
                    underlying: error)
            }
        }
        let file = try JSONLinesAuditSink(directory: dataDirectory + "/gateway-audit")
        let sink: any GatewayAuditSink = audit.map { AuditTrailGatewaySink(audit: $0, next: file) } ?? file
        let metrics = MetricsGatewaySink(next: sink)
        let gateway = try EgressGateway(auditSink: metrics, extraTrustRoots: roots, logger: logger)
        return SessionNetwork(gateway: gateway, vault: vault, logger: logger, metrics: metrics)
    }
}
