/// The result of `AuditLog.verify`: intact, or the first position (1-based) where the chain breaks and why.
public struct AuditVerification: Sendable, Equatable, Codable {
    public var ok: Bool
    public var events: Int
    public var position: Int64?
    public var problem: String?

    public init(ok: Bool, events: Int, position: Int64?, problem: String?) {
        self.ok = ok
        self.events = events
        self.position = position
        self.problem = problem
    }
}
