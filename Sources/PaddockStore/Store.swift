import Foundation
import PaddockCore

/// An API token as stored: only a hash of the secret is kept.
public struct StoredToken: Sendable, Equatable {
    public var id: String
    /// SHA-256 of the token, hex.
    public var hash: String
    public var name: String
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?

    public init(id: String, hash: String, name: String, createdAt: Date, expiresAt: Date? = nil, revokedAt: Date? = nil)
    {
        self.id = id
        self.hash = hash
        self.name = name
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

/// How many warm sandboxes to keep ready for a provider and template.
public struct PoolTarget: Sendable, Equatable, Codable {
    public var provider: String
    public var template: String
    public var size: Int
    public init(provider: String, template: String, size: Int) {
        self.provider = provider
        self.template = template
        self.size = size
    }
}

/// Durable state of the control plane. SQLite (embedded, the default) and later Postgres implement it.
public protocol Store: SnapshotStore, TemplateStore {
    func insertSession(_ session: Session) async throws
    /// Replaces a stored session if it is still in the state the caller read (`expected`): compare-and-set, so
    /// an update that lost a race to another one is a `conflict`, never a silent overwrite. `notFound` if it
    /// was never inserted.
    func updateSession(_ session: Session, expecting expected: SessionState) async throws
    func session(_ id: SessionID) async throws -> Session?
    /// Counts session writes (`insertSession`, `updateSession`, whether they committed or not), so a memory of
    /// session rows can tell it is out of date: one read while it stays the same sees what the store holds.
    var sessionEpoch: UInt64 { get }
    /// Sessions, newest first. Terminal ones (destroyed, failed) only when asked for.
    func sessions(includeTerminal: Bool) async throws -> [Session]
    /// Live sessions whose TTL has passed at `now`.
    func expiredSessions(now: Date) async throws -> [Session]

    func poolTargets() async throws -> [PoolTarget]
    /// Sets (or, with size 0, removes) a pool target.
    func setPoolTarget(_ target: PoolTarget) async throws

    func insertToken(_ token: StoredToken) async throws
    /// The token with this hash if it is neither revoked nor expired at `now`.
    func validToken(hash: String, now: Date) async throws -> StoredToken?
    func tokenCount() async throws -> Int
}
