/// What a guardrail does with a command or a network request: let it through, hold it for a person, or refuse it.
///
/// Ordered by strictness (`allow < ask < deny`) because that order decides every conflict: when several rules
/// match, or several policy layers have an opinion, the strictest one wins.
public enum PolicyAction: String, Sendable, Codable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case allow
    case ask
    case deny

    /// 0 for allow, 1 for ask, 2 for deny.
    public var strictness: Int {
        switch self {
        case .allow: 0
        case .ask: 1
        case .deny: 2
        }
    }

    public static func < (a: PolicyAction, b: PolicyAction) -> Bool { a.strictness < b.strictness }

    public var description: String { rawValue }
}
