/// The `default` and the `allow`/`ask`/`deny` lists of one section (commands or network) of one policy layer.
///
/// This is data — what a policy file says, storable with a session. Compile it with `CommandPolicy` or
/// `NetworkPolicy` to decide anything.
public struct PolicyRuleSet: Sendable, Codable, Hashable {
    /// What this layer decides when none of its rules match; nil means the layer has no opinion, so it neither
    /// allows nor denies what it does not list.
    public var defaultAction: PolicyAction?
    /// Where `default` was written.
    public var defaultOrigin: RuleOrigin?
    /// Every rule, in the order written. Order only breaks ties in reports; the strictest match always wins.
    public var rules: [PolicyRule]

    public init(defaultAction: PolicyAction? = nil, defaultOrigin: RuleOrigin? = nil, rules: [PolicyRule] = []) {
        self.defaultAction = defaultAction
        self.defaultOrigin = defaultOrigin
        self.rules = rules
    }

    /// A rule set built from lists, for code and tests: `PolicyRuleSet(default: .deny, allow: ["git"])`.
    public init(
        default defaultAction: PolicyAction?, allow: [String] = [], ask: [String] = [], deny: [String] = [],
        origin: RuleOrigin? = nil
    ) {
        self.defaultAction = defaultAction
        self.defaultOrigin = origin
        self.rules =
            allow.map { PolicyRule(.allow, $0, origin: origin) } + ask.map { PolicyRule(.ask, $0, origin: origin) }
            + deny.map { PolicyRule(.deny, $0, origin: origin) }
    }

    /// True when the set neither lists a rule nor sets a default.
    public var isEmpty: Bool { defaultAction == nil && rules.isEmpty }

    /// The rules with one action, in the order written.
    public func rules(_ action: PolicyAction) -> [PolicyRule] { rules.filter { $0.action == action } }
}

extension PolicyRuleSet {
    /// Every rule with its pattern parsed by `parse`, strictest action first (deny, ask, allow) and in written
    /// order within an action, so a decision can stop at the first match. A rule that does not parse is an
    /// error naming where it was written.
    func compiledRules<Pattern>(
        _ parse: (String) throws(PaddockError) -> Pattern
    ) throws(PaddockError) -> [(rule: PolicyRule, pattern: Pattern)] {
        var parsed: [(rule: PolicyRule, pattern: Pattern)] = []
        for rule in rules {
            do {
                parsed.append((rule, try parse(rule.pattern)))
            } catch {
                throw .invalidArgument("\(error.message)\(rule.origin.map { " (\($0))" } ?? "")")
            }
        }
        return parsed.enumerated().sorted { a, b in
            a.element.rule.action != b.element.rule.action
                ? a.element.rule.action > b.element.rule.action : a.offset < b.offset
        }.map(\.element)
    }
}
