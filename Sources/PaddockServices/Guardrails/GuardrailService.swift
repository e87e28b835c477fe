import Foundation
import Logging
import PaddockConfig
import PaddockCore
import PaddockSandbox
import PaddockStore

/// Turns policy files into what a session enforces: layering (org → team → session), the stored effective
/// policy, the exec guard and the file mounts. Holds the org and team layers and the approval hook.
public actor GuardrailService {
    public nonisolated let approvals: ApprovalService
    private(set) var sink: any GuardrailEventSink
    private var higherLayers: [(layer: PolicyLayer, source: SessionPolicy.Source)] = []
    let logger: Logger
    let clock: @Sendable () -> Date

    /// - Parameter audit: where exec decisions are recorded besides the log (the audit trail), if anywhere.
    public init(
        store: (any ApprovalStore)?, logger: Logger, clock: @escaping @Sendable () -> Date = { Date() },
        audit: (any AuditRecorder)? = nil
    ) {
        self.logger = logger
        self.clock = clock
        approvals = ApprovalService(store: store, audit: audit, logger: logger, clock: clock)
        let log = LoggingGuardrailEventSink(logger: logger)
        sink = audit.map { AuditingGuardrailEventSink(audit: $0, log: log) } ?? log
    }

    /// Where exec decisions go (the audit trail connects here).
    public func setEventSink(_ sink: any GuardrailEventSink) { self.sink = sink }

    /// Adds an org or team layer every session runs under, read and validated now.
    public func addLayer(_ kind: PolicyLayer.Kind, path: String) throws {
        let config = try RuntimeConfig.load(path: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        higherLayers.append((PolicyLayer(kind, config), .init(layer: kind.rawValue, file: path, text: text)))
    }

    /// A session's policy, compiled: nil when neither the server nor the client gave any.
    struct Prepared: Sendable {
        var effective: EffectivePolicy
        var stored: SessionPolicy
        var commands: CommandPolicy?
        var guardedPrograms: [String]
        var files: [FileMount]

        /// Whether the sandbox needs setting up for it (a warm sandbox has neither exec guard nor mounts).
        var needsGuardedSandbox: Bool { commands != nil || !files.isEmpty }
    }

    /// The rules a session under `policy` would run by (the org's and teams' layers beneath it); nil when no
    /// layer says anything. For showing people what a session will be allowed before it starts.
    public func effectivePolicy(_ policy: PolicyText?) throws -> EffectivePolicy? { try prepare(policy)?.effective }

    /// - Parameter repository: the repository's own runtime.yml, layered between the team's and the session's.
    func prepare(_ policy: PolicyText?, repository: PolicyText? = nil) throws -> Prepared? {
        var layers = higherLayers
        if let repository {
            let config: RuntimeConfig
            do { config = try RuntimeConfig.parse(repository.text, file: repository.file) } catch {
                throw error.paddockError
            }
            layers.append(
                (
                    PolicyLayer(.repository, config),
                    .init(layer: "repository", file: repository.file, text: repository.text)
                ))
        }
        if let policy {
            guard policy.text.utf8.count <= 1 << 20 else {
                throw PaddockError.invalidArgument("the policy file is larger than 1 MiB; keep runtime.yml small")
            }
            let config: RuntimeConfig
            do { config = try RuntimeConfig.parse(policy.text, file: policy.file) } catch { throw error.paddockError }
            layers.append(
                (PolicyLayer(.session, config), .init(layer: "session", file: policy.file, text: policy.text)))
        }
        guard !layers.isEmpty else { return nil }
        let effective = try PolicyLayers(layers.map(\.layer)).effective()
        let commands = effective.commands.isEmpty ? nil : try effective.commandPolicy()
        let files = try effective.filePolicy().mounts.map { FileMount(path: $0.path, hidden: $0.access == .hidden) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(effective), as: UTF8.self)
        let stored = SessionPolicy(
            sources: layers.map(\.source), summary: effective.summary, notes: effective.notes, effective: json,
            guardsCommands: commands != nil)
        return Prepared(
            effective: effective, stored: stored, commands: commands,
            guardedPrograms: SessionGuard.programs(in: effective.commands), files: files)
    }

    /// What the sandbox of `session` enforces.
    func sandboxGuardrails(_ prepared: Prepared, session: SessionID) -> SandboxGuardrails {
        let exec = prepared.commands.map {
            SessionGuard(
                session: session, policy: $0, guardedPrograms: prepared.guardedPrograms, approvals: approvals,
                sink: sink, clock: clock)
        }
        return SandboxGuardrails(exec: exec, files: prepared.files)
    }
}

extension GuardrailService.Prepared {
    /// The session's spec under the policy: `compute:` sets the limits it names, and caps the session's lifetime
    /// and idle time; `secrets:` adds the secrets it names; a provider the policy does not allow is refused.
    func apply(to spec: inout SessionSpec) throws(PaddockError) {
        let named = effective.secretNames.filter { !(spec.secrets ?? []).contains($0) }
        if !named.isEmpty { spec.secrets = (spec.secrets ?? []) + named }
        let compute = effective.compute
        spec.limits = compute.resourceLimits(base: spec.limits)
        if let timeout = compute.timeout {
            let cap = Int64(timeout.value.seconds.rounded(.up))
            spec.ttlSeconds = min(spec.ttlSeconds ?? cap, cap)
        }
        if let idle = compute.idle {
            let cap = Int64(idle.value.seconds.rounded(.up))
            spec.idleSeconds = min(spec.idleSeconds ?? cap, cap)
        }
        if let providers = effective.providers, !providers.value.contains(spec.provider) {
            throw .invalidArgument(
                "the policy allows providers \(providers.value.joined(separator: ", ")) "
                    + "(\(providers.origin?.description ?? "policy")), not '\(spec.provider)'; pass --provider "
                    + "\(providers.value.first ?? "local")")
        }
    }
}

extension GuardrailService {
    /// The server's policy settings: org and team layers (validated now, so a bad file stops the server with
    /// file:line:column), the approval timeout; requests a previous server left open are closed.
    public func configure(org: String?, teams: [String], approvalTimeout: Duration) async throws {
        guard approvalTimeout >= .seconds(1) else {
            throw PaddockError.invalidArgument("--approval-timeout must be at least 1s")
        }
        if let org { try addLayer(.org, path: org) }
        for team in teams { try addLayer(.team, path: team) }
        await approvals.setDefaultTimeout(approvalTimeout)
        await approvals.expireLeftovers()
    }
}

extension GuardrailService {
    /// What a sandbox for `session` must enforce under `policy` (and the server's layers); for callers that
    /// drive a provider directly, such as `paddock bench`.
    public func sandboxGuardrails(policy: PolicyText, session: SessionID) throws -> SandboxGuardrails {
        guard let prepared = try prepare(policy) else { return SandboxGuardrails() }
        return sandboxGuardrails(prepared, session: session)
    }
}
