import Crypto
import Foundation
import PaddockCore
import Synchronization

/// The append-only, hash-chained audit trail of every session.
///
/// `record` is the one entry point: lifecycle, execs and file changes are recorded by the server, and the
/// exec guardrail and egress gateway record their own kinds (`policy.decision`, `approval`, `network`) the
/// same way. An event is durable on disk before `record` returns, so callers record *before* reporting the
/// action done.
///
/// `append` is also the one place where events are scrubbed of secret values (`redactSecrets(using:)`), before
/// they are hashed, so no caller can forget it and the chain covers exactly what is stored.
public struct AuditLog: AuditRecorder {
    let store: any AuditStore
    let clock: @Sendable () -> Date
    /// Shared by every copy of this log: the server hands copies to the gateway and the guardrails before the
    /// vault is attached.
    private let redactor: Redactor
    /// Shared by every copy too, so a page following a session sees what any of them records.
    private let feed = AuditFeed()

    public init(store: any AuditStore, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.clock = clock
        redactor = Redactor()
    }

    /// The events the session's trail takes from now on, as they are stored.
    public func follow(session: SessionID) -> AsyncStream<AuditEvent> { feed.follow(session: session) }

    /// Every session's events from now on, as they are stored (for a watcher that does not know the session yet).
    public func followAll() -> AsyncStream<AuditEvent> { feed.follow(session: nil) }

    /// From now on, every event this log (or any copy of it) appends is scrubbed of the values `source`
    /// supplies. If `source` cannot supply them, the event is not written and `record` throws (fail closed).
    /// Without a source there is no vault, so there are no values to scrub.
    public func redactSecrets(using source: any AuditRedactor) {
        redactor.source.withLock { $0 = source }
    }

    final class Redactor: Sendable {
        let source = Mutex<(any AuditRedactor)?>(nil)
    }

    public func record(session: SessionID, kind: String, actor: AuditActor, fields: [String: AuditValue]) async throws {
        _ = try await append(session: session, kind: kind, actor: actor, fields: fields)
    }

    /// Appends an event and returns it as stored.
    @discardableResult
    public func append(session: SessionID, kind: String, actor: AuditActor, fields: [String: AuditValue]) async throws
        -> AuditEvent
    {
        let at = Int64((clock().timeIntervalSince1970 * 1000).rounded())
        let fields = try await redacted(fields, kind: kind)
        let record = try await store.appendAudit(session: session, genesis: AuditEvent.genesis(session)) { seq, prev in
            try AuditEvent(
                session: session, seq: seq, at: at, kind: kind, actor: actor, fields: fields, prev: Self.hex(prev)
            ).canonicalBytes()
        }
        let event = try AuditEvent.decode(canonical: record.body)
        feed.publish(event)
        return event
    }

    /// `fields` without any secret value, or an error when the values to remove cannot be read.
    private func redacted(_ fields: [String: AuditValue], kind: String) async throws -> [String: AuditValue] {
        guard let source = redactor.source.withLock({ $0 }) else { return fields }
        do { return try await source.auditRedaction().apply(to: fields) } catch {
            throw PaddockError.wrap(
                error, "the \(kind) event was not recorded: the secret values to keep out of it cannot be read")
        }
    }

    /// The session's events in order, decoded. Use `verify` to know whether they can be trusted.
    public func events(session: SessionID) async throws -> [AuditEvent] {
        try await store.auditRecords(session: session).map { try AuditEvent.decode(canonical: $0.body) }
    }

    /// Each event's canonical bytes, one per line: the SHA-256 of line n is line n+1's `prev`, so an export
    /// can be checked without Paddock.
    public func export(session: SessionID) async throws -> [UInt8] {
        var out: [UInt8] = []
        for r in try await store.auditRecords(session: session) {
            out += r.body
            out.append(0x0A)
        }
        return out
    }

    /// Walks the chain from the genesis and reports the first event that does not fit.
    public func verify(session: SessionID) async throws -> AuditVerification {
        let records = try await store.auditRecords(session: session)
        let head = try await store.auditHead(session: session)
        return Self.verify(session: session, records: records, head: head)
    }

    static func verify(session: SessionID, records: [AuditRecord], head: AuditHead?) -> AuditVerification {
        func broken(_ position: Int64, _ problem: String) -> AuditVerification {
            AuditVerification(ok: false, events: records.count, position: position, problem: problem)
        }
        var prev = Array(SHA256.hash(data: AuditEvent.genesis(session)))
        let seqs = records.compactMap { try? AuditEvent.decode(canonical: $0.body).seq }
        for (index, record) in records.enumerated() {
            let position = Int64(index + 1)
            guard Array(SHA256.hash(data: record.body)) == record.hash else {
                return broken(position, "event \(position) was altered: its content no longer matches its hash")
            }
            guard let event = try? AuditEvent.decode(canonical: record.body) else {
                return broken(position, "event \(position) is not a readable audit event")
            }
            guard event.session == session else {
                return broken(position, "event \(position) belongs to session \(event.session): it was moved here")
            }
            if event.seq != position || record.seq != position {
                if let later = seqs.firstIndex(of: position), later > index {
                    return broken(
                        position,
                        "events were reordered: event \(event.seq) is at position \(position) and event \(position) "
                            + "at position \(later + 1)")
                }
                if event.seq > position {
                    return broken(
                        position, "event \(position) was deleted: event \(event.seq) follows event \(position - 1)")
                }
                return broken(position, "an event was inserted at position \(position)")
            }
            guard event.prev == hex(prev) else {
                return broken(
                    position,
                    position == 1
                        ? "event 1 does not start this session's chain: it was replaced or inserted"
                        : "event \(position) does not follow event \(position - 1): event \(position - 1) was altered "
                            + "(and its hash rewritten) or replaced")
            }
            prev = record.hash
        }
        let count = Int64(records.count)
        if let head {
            if head.seq > count {
                return broken(
                    count + 1, "event \(count + 1) was deleted: \(head.seq) events were written, \(count) remain")
            }
            if head.seq < count {
                return broken(
                    head.seq + 1, "event \(head.seq + 1) was inserted: only \(head.seq) events were ever written")
            }
            if head.hash != prev {
                return broken(count, "event \(count), the newest, was altered or replaced after it was written")
            }
        } else if count > 0 {
            return broken(1, "the trail's head is missing: it was deleted")
        }
        return AuditVerification(ok: true, events: records.count, position: nil, problem: nil)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
