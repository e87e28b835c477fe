import Foundation

/// One event in a session's append-only audit trail.
///
/// The stored form is the event's canonical JSON (`canonicalBytes`), which includes `prev`: the SHA-256 of
/// the previous event's canonical bytes (for the first event, of `paddock-audit-genesis:<session id>`). Any
/// edit, deletion, insertion or reordering breaks a link, and `AuditLog.verify` says at which event.
public struct AuditEvent: Sendable, Equatable, Codable {
    public var session: SessionID
    /// Position in the session's trail, from 1.
    public var seq: Int64
    /// Milliseconds since 1970 (an integer, so the bytes never depend on date formatting).
    public var at: Int64
    /// What happened: `session.create`, `session.pause`, `exec`, `file.write`, `policy.decision`, …
    public var kind: String
    public var actor: AuditActor
    /// Details. Secret values never go here: environment variables are recorded by name only.
    public var fields: [String: AuditValue]
    /// SHA-256 of the previous event's canonical bytes, hex.
    public var prev: String

    public init(
        session: SessionID, seq: Int64, at: Int64, kind: String, actor: AuditActor, fields: [String: AuditValue],
        prev: String
    ) {
        self.session = session
        self.seq = seq
        self.at = at
        self.kind = kind
        self.actor = actor
        self.fields = fields
        self.prev = prev
    }

    public var date: Date { Date(timeIntervalSince1970: Double(at) / 1000) }

    /// The bytes that are stored, hashed and exported: JSON with sorted keys and no insignificant space.
    public func canonicalBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    public static func decode(canonical bytes: [UInt8]) throws -> AuditEvent {
        if let value = AuditJSONReader.read(bytes), let event = AuditEvent(reading: value) { return event }
        return try JSONDecoder().decode(AuditEvent.self, from: Data(bytes))
    }

    /// The text hashed to make the first event's `prev`: binds a trail to its session, so events cannot be
    /// moved from one session's trail to another's.
    public static func genesis(_ session: SessionID) -> [UInt8] { Array("paddock-audit-genesis:\(session)".utf8) }
}
