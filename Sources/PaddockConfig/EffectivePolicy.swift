import PaddockCore

/// The policy a session runs under after layering: data to store with the session and show in
/// `paddock session get`, and the source of the compiled guardrails. Every rule, default and limit carries the
/// layer and location it came from.
public struct EffectivePolicy: Sendable, Equatable, Codable {
    /// Command rules, one set per layer that has any, highest layer first.
    public var commands: [PolicyRuleSet]
    /// Network rules, one set per layer that has any, highest layer first.
    public var network: [PolicyRuleSet]
    public var files: [FileRule]
    public var changes: ChangePolicy
    public var compute: ComputeConfig
    /// Providers allowed by every layer that lists any; nil allows any.
    public var providers: Sourced<[String]>?
    /// What layering clamped or made ineffective, for `paddock policy check` to show.
    public var notes: [String]
    /// `secrets:` of every layer, highest first: each names a vault secret the session gets as a placeholder
    /// and the hosts it may go to. A name in several layers must satisfy all of their host lists. Nil in
    /// policies stored before secrets were kept.
    public var secrets: [SecretConfig]?
    /// `previews:` of every layer, narrowed; nil in policies stored before previews were kept.
    public var previews: PreviewConfig?

    public init(
        commands: [PolicyRuleSet] = [], network: [PolicyRuleSet] = [], files: [FileRule] = [],
        changes: ChangePolicy = ChangePolicy(), compute: ComputeConfig = ComputeConfig(),
        providers: Sourced<[String]>? = nil, notes: [String] = [], secrets: [SecretConfig] = []
    ) {
        self.commands = commands
        self.network = network
        self.files = files
        self.changes = changes
        self.compute = compute
        self.providers = providers
        self.notes = notes
        self.secrets = secrets
    }

    /// The secret names the policy gives a session, each once, in the order first written.
    public var secretNames: [String] {
        var seen = Set<String>()
        return (secrets ?? []).map(\.name).filter { seen.insert($0).inserted }
    }

    /// The host lists the policy puts on secret `name`, one per layer that names it.
    public func hostLists(forSecret name: String) -> [[String]] {
        (secrets ?? []).filter { $0.name == name }.map { $0.hosts.map(\.value) }
    }

    /// The policy of a single runtime.yml with no layers above it.
    public init(_ config: RuntimeConfig, as kind: PolicyLayer.Kind = .repository) {
        // One layer never has providers to intersect, so this cannot throw.
        self = (try? PolicyLayers([PolicyLayer(kind, config)]).effective()) ?? EffectivePolicy()
    }

    /// The compiled command guardrail. Commands are allowed when no layer says otherwise.
    public func commandPolicy() throws(PaddockError) -> CommandPolicy {
        try CommandPolicy(layers: commands, fallback: .allow)
    }

    /// The compiled network guardrail. The network is denied when no layer says otherwise.
    public func networkPolicy() throws(PaddockError) -> NetworkPolicy {
        try NetworkPolicy(layers: network, fallback: .deny)
    }

    /// The compiled file guardrail.
    public func filePolicy() throws(PaddockError) -> FilePolicy {
        try FilePolicy(files)
    }

    /// Every rule in force, one per line, each with its origin — what `paddock session get` prints.
    public var summary: [String] {
        var lines: [String] = []
        for (section, sets) in [("commands", commands), ("network", network)] {
            for set in sets {
                if let action = set.defaultAction {
                    lines.append(
                        "\(section): default \(action) (\(set.defaultOrigin?.description ?? "unknown origin"))")
                }
                lines += set.rules.map { "\(section): \($0)" }
            }
        }
        lines += files.map { "files: \($0)" }
        for secret in secrets ?? [] {
            lines.append(
                "secrets: \(secret.name) → \(secret.hosts.map(\.value).joined(separator: ", ")) "
                    + "(\(secret.origin?.description ?? "unknown origin"))")
        }
        if let maxLines = changes.maxLines { lines.append("changes: max_lines \(maxLines)") }
        lines += changes.protectedBranches.map { "changes: protected branch \($0)" }
        let limits: [(String, String?)] = [
            ("cpu", compute.cpu?.description), ("memory", compute.memory?.description),
            ("disk", compute.disk?.description), ("pids", compute.pids?.description),
            ("timeout", compute.timeout.map { "\(DurationText.format($0.value)) (\($0.origin?.description ?? "-"))" }),
            ("idle", compute.idle.map { "\(DurationText.format($0.value)) (\($0.origin?.description ?? "-"))" }),
        ]
        for case (let name, let value?) in limits { lines.append("compute: \(name) \(value)") }
        if let providers {
            lines.append(
                "providers: \(providers.value.joined(separator: ", ")) (\(providers.origin?.description ?? "-"))")
        }
        return lines
    }
}
