import PaddockCore

/// One level of policy — the org's, a team's, the repository's runtime.yml, or a session's `--policy` — with
/// its configuration. Higher levels bound lower ones (see `PolicyLayers`).
public struct PolicyLayer: Sendable, Equatable {
    /// The level, highest first: `org` > `team` > `repository` > `session`.
    public enum Kind: String, Sendable, Codable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
        case org
        case team
        case repository
        case session

        private var rank: Int {
            switch self {
            case .org: 0
            case .team: 1
            case .repository: 2
            case .session: 3
            }
        }

        /// `org < team`: lower rank means higher authority.
        public static func < (a: Kind, b: Kind) -> Bool { a.rank < b.rank }

        public var description: String { rawValue }
    }

    public var kind: Kind
    public var config: RuntimeConfig

    public init(_ kind: Kind, _ config: RuntimeConfig) {
        self.kind = kind
        self.config = config
    }

    /// The layer's guardrails with every origin labelled with this layer's kind.
    var labelledGuardrails: Guardrails {
        var guardrails = config.guardrails
        guardrails.commands = label(guardrails.commands)
        guardrails.network = label(guardrails.network)
        guardrails.files = guardrails.files.map { rule in
            var rule = rule
            rule.origin = label(rule.origin)
            return rule
        }
        guardrails.changes.maxLines = guardrails.changes.maxLines.map(label)
        guardrails.changes.protectedBranches = guardrails.changes.protectedBranches.map(label)
        return guardrails
    }

    /// The layer's compute limits, each labelled with this layer's kind.
    var labelledCompute: ComputeConfig {
        let c = config.compute
        return ComputeConfig(
            cpu: c.cpu.map(label), memory: c.memory.map(label), disk: c.disk.map(label), pids: c.pids.map(label),
            timeout: c.timeout.map(label), idle: c.idle.map(label))
    }

    func label(_ origin: RuleOrigin?) -> RuleOrigin {
        var origin = origin ?? RuleOrigin(file: config.file)
        origin.layer = kind.rawValue
        return origin
    }

    func label<Value>(_ sourced: Sourced<Value>) -> Sourced<Value> {
        Sourced(sourced.value, origin: label(sourced.origin))
    }

    private func label(_ set: PolicyRuleSet) -> PolicyRuleSet {
        PolicyRuleSet(
            defaultAction: set.defaultAction, defaultOrigin: set.defaultAction == nil ? nil : label(set.defaultOrigin),
            rules: set.rules.map { PolicyRule($0.action, $0.pattern, origin: label($0.origin)) })
    }
}
