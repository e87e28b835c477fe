/// One entry of an `allow`, `ask` or `deny` list, as written, with where it was written.
public struct PolicyRule: Sendable, Codable, Hashable, CustomStringConvertible {
    public var action: PolicyAction
    /// The pattern exactly as written in the policy (a command pattern or a host pattern).
    public var pattern: String
    public var origin: RuleOrigin?

    public init(_ action: PolicyAction, _ pattern: String, origin: RuleOrigin? = nil) {
        self.action = action
        self.pattern = pattern
        self.origin = origin
    }

    /// `deny 'rm' (repository runtime.yml:9:71)`.
    public var description: String {
        guard let origin else { return "\(action) '\(pattern)'" }
        return "\(action) '\(pattern)' (\(origin))"
    }
}
