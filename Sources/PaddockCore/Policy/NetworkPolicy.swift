/// The network guardrail, compiled: decides `allow`, `ask` or `deny` for a connection the egress gateway is
/// about to make.
///
/// Rules are host patterns (`HostPattern`). Within a layer the strictest matching rule wins and the layer's
/// `default` decides when nothing matches; across layers (org → team → repository → session) the strictest
/// layer wins, so a lower layer can never open what a higher one closes. When no layer has an opinion,
/// `fallback` decides — `deny`, because a sandbox has no reach outside except what policy allows.
///
/// Name rules and address rules are checked together and the strictest wins, so `allow: [internal.example.com]`
/// with `deny: [10.0.0.0/8]` still refuses the name once it resolves into 10/8 (DNS rebinding), as long as the
/// gateway passes the address it is about to connect to.
public struct NetworkPolicy: Sendable {
    /// A request, normalized once per decision.
    struct Request {
        /// Lowercased host name without trailing dot; nil when the host is an IP literal.
        let name: String?
        let port: UInt16?
        /// The IP literal and/or the resolved address, IPv4-mapped addresses as IPv4.
        let addresses: [IPAddress]

        init(host: String, port: UInt16?, address: IPAddress?) {
            var host = Substring(host)
            if host.first == "[", host.last == "]" { host = host.dropFirst().dropLast() }
            if host.last == "." { host = host.dropLast() }
            var addresses: [IPAddress] = []
            if let literal = IPAddress(String(host)) {
                name = nil
                addresses.append(literal.unmapped)
            } else {
                // Most hosts arrive lowercased already; skip the copy then.
                let isLower = !host.utf8.contains { $0 >= 0x41 && $0 <= 0x5A }
                name = isLower ? String(host) : host.lowercased()
            }
            if let address { addresses.append(address.unmapped) }
            self.port = port
            self.addresses = addresses
        }
    }

    private struct Compiled: Sendable {
        let rule: PolicyRule
        let pattern: HostPattern
    }

    private struct Layer: Sendable {
        let defaultAction: PolicyAction?
        let defaultOrigin: RuleOrigin?
        /// Strictest first, then in the order written (see `CommandPolicy`).
        let rules: [Compiled]
        let byName: [String: [Int]]
        let bySuffix: [String: [Int]]
        /// `*` rules and address rules: few, checked for every request.
        let others: [Int]
    }

    private let layers: [Layer]
    /// What is decided when no layer has a matching rule or a default.
    public let fallback: PolicyAction

    /// One layer.
    public init(_ rules: PolicyRuleSet, fallback: PolicyAction = .deny) throws(PaddockError) {
        try self.init(layers: [rules], fallback: fallback)
    }

    /// Several layers, highest (org) first.
    public init(layers: [PolicyRuleSet], fallback: PolicyAction = .deny) throws(PaddockError) {
        var compiled: [Layer] = []
        for set in layers {
            let rules = try set.compiledRules { (text) throws(PaddockError) in try HostPattern(parsing: text) }
                .map { Compiled(rule: $0.rule, pattern: $0.pattern) }
            var byName: [String: [Int]] = [:]
            var bySuffix: [String: [Int]] = [:]
            var others: [Int] = []
            for (index, rule) in rules.enumerated() {
                switch rule.pattern.host {
                case .name(let name): byName[name, default: []].append(index)
                case .subdomains(let suffix): bySuffix[suffix, default: []].append(index)
                case .any, .network: others.append(index)
                }
            }
            compiled.append(
                Layer(
                    defaultAction: set.defaultAction, defaultOrigin: set.defaultOrigin, rules: rules, byName: byName,
                    bySuffix: bySuffix, others: others))
        }
        self.layers = compiled
        self.fallback = fallback
    }

    /// Decides for a connection to `host` (a name or an IP literal, as the program asked) on `port`.
    ///
    /// - Parameter address: the address the gateway resolved `host` to and is about to connect to, so address
    ///   rules apply to names too. Pass it whenever it is known.
    public func decide(host: String, port: UInt16?, address: IPAddress? = nil) -> PolicyDecision {
        let request = Request(host: host, port: port, address: address)
        var best: PolicyDecision?
        for layer in layers {
            guard let opinion = decide(request, in: layer) else { continue }
            if let current = best, !opinion.overrides(current) { continue }
            best = opinion
        }
        return best ?? PolicyDecision(fallback, .fallback)
    }

    private func decide(_ request: Request, in layer: Layer) -> PolicyDecision? {
        var best = Int.max
        func firstMatch(in list: [Int]) {
            for index in list {
                guard index < best else { return }
                if layer.rules[index].pattern.matches(request) {
                    best = index
                    return
                }
            }
        }
        if let name = request.name {
            if let list = layer.byName[name] { firstMatch(in: list) }
            // Every parent domain of the name: `a.b.example.com` looks up `b.example.com`, `example.com`, `com`.
            if !layer.bySuffix.isEmpty {
                var rest = Substring(name)
                while let dot = rest.firstIndex(of: ".") {
                    rest = rest[rest.index(after: dot)...]
                    if let list = layer.bySuffix[String(rest)] { firstMatch(in: list) }
                }
            }
        }
        firstMatch(in: layer.others)
        if best < layer.rules.count {
            let rule = layer.rules[best].rule
            return PolicyDecision(rule.action, .rule(rule))
        }
        return layer.defaultAction.map { PolicyDecision($0, .layerDefault(layer.defaultOrigin)) }
    }
}
