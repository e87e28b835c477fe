import PaddockCore

/// One stored audit event: its position, its canonical bytes and their SHA-256.
public struct AuditRecord: Sendable, Equatable {
    public var seq: Int64
    public var body: [UInt8]
    public var hash: [UInt8]

    public init(seq: Int64, body: [UInt8], hash: [UInt8]) {
        self.seq = seq
        self.body = body
        self.hash = hash
    }
}

/// Where the last event of a session's trail is: kept apart from the events so that deleting the newest
/// events is detected too.
public struct AuditHead: Sendable, Equatable {
    public var seq: Int64
    public var hash: [UInt8]

    public init(seq: Int64, hash: [UInt8]) {
        self.seq = seq
        self.hash = hash
    }
}

/// Storage of the hash-chained audit trails. `AuditLog` builds on it.
public protocol AuditStore: Sendable {
    /// In one durable transaction: reads the session's head (or the genesis), asks `make` for the canonical bytes
    /// of the event at `seq` chained to `prevHash`, stores them with their SHA-256 and moves the head.
    func appendAudit(
        session: SessionID, genesis: [UInt8],
        make: @escaping @Sendable (_ seq: Int64, _ prevHash: [UInt8]) throws -> [UInt8]
    ) async throws -> AuditRecord
    /// Every stored event of the session, in `seq` order.
    func auditRecords(session: SessionID) async throws -> [AuditRecord]
    func auditHead(session: SessionID) async throws -> AuditHead?
}
