import PaddockCore

/// Combines org → team → repository → session policy into the effective policy of a session, where a lower
/// layer can only tighten what a higher one sets.
///
/// How each part combines:
/// - **commands and network**: every layer is kept and evaluated on its own, and the strictest answer wins
///   (`CommandPolicy(layers:)`). A lower layer's `allow` therefore cannot re-allow what a higher layer denies or
///   asks about — by a rule *or by its default*. A lower `default` looser than a higher one (`network.default:
///   allow` under an org's `deny`) is not an error: it is clamped (the higher default still decides) and a note
///   says so, because an org tightening its policy must not break every repository that was written before.
/// - **files**: the union; hidden beats read-only on any path.
/// - **changes**: the smallest `max_lines`; the union of `protected_branches`.
/// - **compute**: the minimum of each limit.
/// - **providers**: the providers every layer that lists them allows (an empty intersection is an error).
/// - **secrets**: every layer's entries are kept; a secret named in several layers may go only to hosts every
///   one of them lists (and the vault's own hosts still apply).
/// - `template`, `rbac`, `instructions` and `checks` describe the repository rather than bound it, and are not
///   layered: take them from the repository's `RuntimeConfig`.
public struct PolicyLayers: Sendable {
    /// The layers, in any order; `effective()` orders them by kind, keeping the given order within a kind.
    public var layers: [PolicyLayer]

    public init(_ layers: [PolicyLayer]) { self.layers = layers }

    /// The effective policy, each rule and limit labelled with its layer and location.
    ///
    /// - Throws: `invalidArgument` only for a true contradiction no clamping can resolve: no provider allowed
    ///   by every layer.
    public func effective() throws(PaddockError) -> EffectivePolicy {
        let ordered = layers.enumerated().sorted { a, b in
            a.element.kind != b.element.kind ? a.element.kind < b.element.kind : a.offset < b.offset
        }.map(\.element)
        var policy = EffectivePolicy()
        var notes: [String] = []

        for layer in ordered {
            let guardrails = layer.labelledGuardrails
            if !guardrails.commands.isEmpty {
                notes += Self.shadowed(guardrails.commands, under: policy.commands, kind: .command, layer: layer.kind)
                policy.commands.append(guardrails.commands)
            }
            if !guardrails.network.isEmpty {
                notes += Self.shadowed(guardrails.network, under: policy.network, kind: .host, layer: layer.kind)
                policy.network.append(guardrails.network)
            }
            for rule in guardrails.files
            where !policy.files.contains(where: { $0.access == rule.access && $0.path == rule.path }) {
                policy.files.append(rule)
            }
            if let maxLines = guardrails.changes.maxLines {
                if let current = policy.changes.maxLines, current.value <= maxLines.value {
                    if current.value < maxLines.value {
                        notes.append("\(layer.kind) sets changes.max_lines \(maxLines), kept at \(current)")
                    }
                } else {
                    policy.changes.maxLines = maxLines
                }
            }
            for branch in guardrails.changes.protectedBranches
            where !policy.changes.protectedBranches.contains(where: { $0.value == branch.value }) {
                policy.changes.protectedBranches.append(branch)
            }
            policy.compute = Self.minimum(policy.compute, layer.labelledCompute, layer: layer.kind, notes: &notes)
            if let providers = layer.config.providers {
                let labelled = layer.label(providers)
                if let current = policy.providers {
                    let both = current.value.filter(labelled.value.contains)
                    guard !both.isEmpty else {
                        throw .invalidArgument(
                            "no provider is allowed by every policy layer: \(current) but \(layer.kind) allows only "
                                + "\(labelled); make the lists share a provider")
                    }
                    if both != current.value { policy.providers = Sourced(both, origin: labelled.origin) }
                } else {
                    policy.providers = labelled
                }
            }
        }
        policy.secrets = ordered.flatMap { layer in
            layer.config.secrets.map { secret in
                SecretConfig(
                    name: secret.name, hosts: secret.hosts.map(layer.label), origin: layer.label(secret.origin))
            }
        }
        notes += Self.unreachableSecrets(in: ordered, network: policy.network)
        policy.previews = ordered.reduce(PreviewConfig()) { $0.narrowed(by: $1.config.previews) }
        policy.notes = notes
        return policy
    }

    private enum Section {
        case command
        case host
    }

    /// Notes for what a new layer says but cannot change: a looser default than one above it, and allow rules
    /// for a concrete command or host that the layers above already refuse or ask about.
    private static func shadowed(
        _ set: PolicyRuleSet, under higher: [PolicyRuleSet], kind: Section, layer: PolicyLayer.Kind
    ) -> [String] {
        guard !higher.isEmpty else { return [] }
        let section = kind == .command ? "commands" : "network"
        var notes: [String] = []
        if let action = set.defaultAction,
            let stricter = higher.filter({ ($0.defaultAction ?? .allow) > action }).max(by: {
                ($0.defaultAction ?? .allow) < ($1.defaultAction ?? .allow)
            }), let higherDefault = stricter.defaultAction
        {
            notes.append(
                "\(layer) sets \(section).default: \(action) (\(set.defaultOrigin?.description ?? "unknown origin")), "
                    + "but \(stricter.defaultOrigin?.layer ?? "a higher layer") defaults to \(higherDefault) "
                    + "(\(stricter.defaultOrigin?.description ?? "unknown origin")); the stricter default applies")
        }
        for rule in set.rules where rule.action != .deny {
            let decision: PolicyDecision?
            switch kind {
            case .command:
                guard let argv = concreteCommand(rule.pattern), let policy = try? CommandPolicy(layers: higher) else {
                    continue
                }
                decision = policy.decide(argv)
            case .host:
                guard let pattern = try? HostPattern(parsing: rule.pattern), case .name(let name) = pattern.host,
                    let policy = try? NetworkPolicy(layers: higher, fallback: .allow)
                else { continue }
                decision = policy.decide(host: name, port: pattern.port ?? 443)
            }
            guard let decision, decision.action > rule.action else { continue }
            notes.append(
                "\(layer) \(rule) is narrowed to \(decision.action): \(decision)")
        }
        return notes
    }

    /// Notes for secrets whose host the effective network policy refuses: the placeholder would never be swapped.
    private static func unreachableSecrets(in layers: [PolicyLayer], network: [PolicyRuleSet]) -> [String] {
        guard let policy = try? NetworkPolicy(layers: network, fallback: .deny) else { return [] }
        var notes: [String] = []
        for layer in layers {
            for secret in layer.config.secrets {
                for host in secret.hosts {
                    guard let pattern = try? HostPattern(parsing: host.value), case .name(let name) = pattern.host
                    else {
                        continue
                    }
                    let decision = policy.decide(host: name, port: pattern.port ?? 443)
                    guard decision.action == .deny else { continue }
                    notes.append(
                        "secret \(secret.name) (\(layer.label(host.origin))) is for \(name), but the network policy "
                            + "refuses it: \(decision)")
                }
            }
        }
        return notes
    }

    /// The argv a pattern without wildcards stands for, so it can be run through the higher layers.
    private static func concreteCommand(_ pattern: String) -> [String]? {
        guard let compiled = try? CommandPattern(parsing: pattern), !compiled.isPipeline,
            !pattern.contains(where: { "*?'\"\\".contains($0) })
        else { return nil }
        return pattern.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    private static func minimum(
        _ current: ComputeConfig, _ next: ComputeConfig, layer: PolicyLayer.Kind, notes: inout [String]
    ) -> ComputeConfig {
        func pick<Value: Comparable>(_ name: String, _ a: Sourced<Value>?, _ b: Sourced<Value>?) -> Sourced<Value>? {
            guard let a else { return b }
            guard let b else { return a }
            if b.value > a.value { notes.append("\(layer) asks for compute.\(name) \(b), capped at \(a)") }
            return b.value < a.value ? b : a
        }
        return ComputeConfig(
            cpu: pick("cpu", current.cpu, next.cpu), memory: pick("memory", current.memory, next.memory),
            disk: pick("disk", current.disk, next.disk), pids: pick("pids", current.pids, next.pids),
            timeout: pick("timeout", current.timeout, next.timeout), idle: pick("idle", current.idle, next.idle))
    }
}
