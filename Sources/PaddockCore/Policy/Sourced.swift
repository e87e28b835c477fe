/// A value and where it was written, such as a limit that layering took from the org's policy file.
public struct Sourced<Value: Sendable>: Sendable {
    public var value: Value
    public var origin: RuleOrigin?

    public init(_ value: Value, origin: RuleOrigin? = nil) {
        self.value = value
        self.origin = origin
    }
}

extension Sourced: Equatable where Value: Equatable {}
extension Sourced: Hashable where Value: Hashable {}
extension Sourced: Codable where Value: Codable {}

extension Sourced: CustomStringConvertible {
    /// `30m (org org.yml:4:12)`.
    public var description: String {
        guard let origin else { return "\(value)" }
        return "\(value) (\(origin))"
    }
}
