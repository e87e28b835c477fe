import Foundation
import Logging
import NIOSSL
import PaddockCore
import PaddockGateway
import PaddockSandbox
import PaddockServer
import PaddockServices

/// A test stack with the pieces agent runs need: the egress gateway (trusting the scripted model server's CA)
/// and its vault holding the model key, Claude Code, Codex and mini-swe-agent bind-mounted into the sandboxes,
/// and a `RunService`.
///
/// The lead's end-to-end test can use it as is: `AgentTestStack.make("e2e", model: server, configure: { … })`,
/// then `stack.sessionSpec()` for a session that may reach the model, and `stack.runs.start(...)` /
/// `stack.runs.wait(runID)`.
public struct AgentTestStack: Sendable {
    public let stack: TestStack
    public let network: SessionNetwork
    public let runs: RunService
    /// The runs' tasks, running as the server's service group would run them.
    let running: RunningService
    public let model: ScriptedModelServer
    /// The real key, held by the vault and the scripted server only.
    public let apiKey: String

    public var sessions: SessionService { stack.sessions }

    /// Claude Code from the claude-agent-sdk wheel in the repository's `.venv` (scripts/install-python.sh).
    public static var claudeBinary: String? {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let lib = repo + "/.venv/lib"
        for python in (try? FileManager.default.contentsOfDirectory(atPath: lib))?.sorted() ?? [] {
            let path = "\(lib)/\(python)/site-packages/claude_agent_sdk/_bundled/claude"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// - Parameter configure: changes to the run configuration (limits, budgets, more agents) before the
    ///   service is made; claude-code is already pointed at `model`.
    /// - Parameter trust: more roots the gateway trusts upstream (other HTTPS servers of the test on loopback).
    public static func make(
        _ label: String, apiKey: String, model: ScriptedModelServer, metering: Bool = false,
        trust: [NIOSSLCertificate] = [], configure: (inout RunConfiguration) -> Void = { _ in }
    ) async throws -> AgentTestStack {
        let stack = try await TestStack.make(label)
        do {
            var binds: [SandboxSpecBuilder.ReadOnlyBind] = []
            if let claude = claudeBinary {
                binds.append(.init(source: claude, destination: AgentDefinition.claudeSandboxPath))
            }
            if let codex = codexBinary {
                binds.append(.init(source: codex, destination: AgentDefinition.codexSandboxPath))
            }
            if let mini = miniSweAgentPackages {
                binds.append(.init(source: mini.sitePackages, destination: AgentDefinition.miniSweAgentSandboxPath))
            }
            try await stack.provider.setToolBinds(binds)
            let vault = try SecretVault(store: stack.store, keyFile: stack.dataDirectory + "/vault.key")
            // As the server records them: in the session's audit trail (which a run's record reads its network
            // refusals from) and in the per-session JSON Lines file.
            let file = try JSONLinesAuditSink(directory: stack.dataDirectory + "/gateway-audit")
            let audit: any GatewayAuditSink =
                stack.sessions.auditRecorder.map { AuditTrailGatewaySink(audit: $0, next: file) } ?? file
            // With metering, as the server does: model calls are metered and budgets enforced at the gateway.
            let metrics = metering ? MetricsGatewaySink(next: audit) : nil
            let gateway = try EgressGateway(
                auditSink: metrics ?? audit, extraTrustRoots: [try model.authority.trustRoot()] + trust,
                logger: TestHost.quietLogger("test.gateway"))
            let network = SessionNetwork(
                gateway: gateway, vault: vault, logger: TestHost.quietLogger("test.gateway"), metrics: metrics)
            await stack.sessions.setNetwork(network)
            try await vault.set(
                name: "ANTHROPIC_API_KEY", team: nil, value: apiKey, hosts: ["127.0.0.1:\(model.port)"],
                allowHTTP: false)
            // The model server listens on the host's loopback, which the session's NO_PROXY sends to the
            // sandbox's own; the agent is told to use the gateway for it.
            var configuration = RunConfiguration(
                agents: [
                    .claudeCode(env: ["ANTHROPIC_BASE_URL": model.baseURL, "NO_PROXY": "", "no_proxy": ""]),
                    .codex(env: ["OPENAI_BASE_URL": model.baseURL + "/v1", "NO_PROXY": "", "no_proxy": ""]),
                ])
            configure(&configuration)
            let runs = RunService(
                sessions: stack.sessions, store: stack.store, teams: stack.store, configuration: configuration,
                logger: TestHost.quietLogger("test.runs"))
            if metering {
                await ModelMetering(
                    sessions: stack.sessions, store: stack.store, runs: runs,
                    logger: TestHost.quietLogger("test.metering")
                ).connect()
            }
            return AgentTestStack(
                stack: stack, network: network, runs: runs, running: RunningService(runs), model: model, apiKey: apiKey)
        } catch {
            try? await stack.tearDown()
            throw error
        }
    }

    /// Starts a scripted model server that wants `apiKey`, a stack whose agents talk to it, runs `body`, and
    /// stops both whatever happens. `configure` sees the server (its URL) as well as the configuration.
    public static func with(
        _ label: String, apiKey: String, script: [ScriptedModelServer.Turn], metering: Bool = false,
        trust: [NIOSSLCertificate] = [], configure: (inout RunConfiguration, ScriptedModelServer) -> Void = { _, _ in },
        _ body: (AgentTestStack) async throws -> Void
    ) async throws {
        let model = try await ScriptedModelServer.start(apiKey: apiKey, script: script)
        let agents: AgentTestStack
        do {
            agents = try await make(label, apiKey: apiKey, model: model, metering: metering, trust: trust) {
                configure(&$0, model)
            }
        } catch {
            await model.stop()
            throw error
        }
        do { try await body(agents) } catch {
            try? await agents.tearDown()
            await model.stop()
            throw error
        }
        try await agents.tearDown()
        await model.stop()
    }

    /// A session (as `sessionSpec()`) that also holds the placeholder of `OPENAI_API_KEY`, the same key
    /// scoped to the model server: for OpenAI-compatible clients.
    public func openAISession() async throws -> Session {
        try await network.vault.set(
            name: "OPENAI_API_KEY", team: nil, value: apiKey, hosts: ["127.0.0.1:\(model.port)"], allowHTTP: false)
        var spec = sessionSpec()
        spec.secrets = ["OPENAI_API_KEY"]
        return try await sessions.create(spec)
    }

    /// A session that holds the key's placeholder and may reach the model server (loopback is refused by
    /// the gateway unless a policy allows the address explicitly).
    public func sessionSpec() -> SessionSpec {
        var spec = SessionSpec()
        spec.secrets = ["ANTHROPIC_API_KEY"]
        spec.network = PolicyRuleSet(default: nil, allow: ["127.0.0.1"])
        spec.limits.memory = .gibibytes(2)
        return spec
    }

    public func tearDown() async throws {
        try await running.stop()
        try await stack.tearDown()
        await network.gateway.shutdown()
    }
}
