/// The answer of a guardrail and the reason for it, for enforcement, `paddock policy explain` and the audit log.
public struct PolicyDecision: Sendable, Hashable, CustomStringConvertible {
    /// Why the action was chosen.
    public enum Reason: Sendable, Hashable {
        /// A rule matched and was the strictest match.
        case rule(PolicyRule)
        /// No rule matched; the `default` written at this origin decided.
        case layerDefault(RuleOrigin?)
        /// No rule matched and no layer sets a default: the built-in default decided.
        case fallback
    }

    public var action: PolicyAction
    public var reason: Reason

    public init(_ action: PolicyAction, _ reason: Reason) {
        self.action = action
        self.reason = reason
    }

    /// The rule that decided, if a rule did.
    public var rule: PolicyRule? {
        if case .rule(let rule) = reason { return rule }
        return nil
    }

    /// The origin of the rule or default that decided.
    public var origin: RuleOrigin? {
        switch reason {
        case .rule(let rule): rule.origin
        case .layerDefault(let origin): origin
        case .fallback: nil
        }
    }

    /// `deny by rule 'rm' (repository runtime.yml:9:71)`, `allow by default (runtime.yml:8:22)`,
    /// `deny by the built-in default (no rule matched and no default is set)`.
    public var description: String {
        switch reason {
        case .rule(let rule):
            guard let origin = rule.origin else { return "\(action) by rule '\(rule.pattern)'" }
            return "\(action) by rule '\(rule.pattern)' (\(origin))"
        case .layerDefault(let origin?):
            return "\(action) by default (\(origin))"
        case .layerDefault(nil):
            return "\(action) by default"
        case .fallback:
            return "\(action) by the built-in default (no rule matched and no default is set)"
        }
    }
}

extension PolicyDecision {
    /// How layers combine: the strictest opinion wins; on a tie an explicit rule explains more than a default,
    /// and otherwise the higher layer (the one seen first) keeps it.
    func overrides(_ current: PolicyDecision) -> Bool {
        action > current.action || (action == current.action && current.rule == nil && rule != nil)
    }
}
