/// Who caused an audit event: a person and the token they used, or Paddock itself (`system`: TTLs, the
/// reaper, recovery after a restart).
public struct AuditActor: Sendable, Equatable, Codable, CustomStringConvertible {
    public var user: String
    /// The id (never the secret) of the token used; nil for `system`.
    public var token: String?

    public init(user: String, token: String?) {
        self.user = user
        self.token = token
    }

    public static let system = AuditActor(user: "system", token: nil)

    public var description: String { token.map { "\(user) (token \($0))" } ?? user }
}

/// Where audit events go. `AuditLog` (PaddockStore) implements it; components that only import PaddockCore
/// (the exec guardrail, the egress gateway) record through this.
public protocol AuditRecorder: Sendable {
    /// Appends one event to the session's hash chain and returns once it is durable on disk.
    func record(session: SessionID, kind: String, actor: AuditActor, fields: [String: AuditValue]) async throws
}
