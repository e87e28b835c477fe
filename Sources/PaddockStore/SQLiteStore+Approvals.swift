import Foundation
import GRDB
import PaddockCore

/// Durable approvals: a request survives until answered, and an answer is on disk before the process that
/// waited for it is let go.
public protocol ApprovalStore: Sendable {
    func insertApproval(_ approval: Approval) async throws
    /// Replaces a stored approval; `notFound` if it was never inserted.
    func updateApproval(_ approval: Approval) async throws
    func approval(id: String) async throws -> Approval?
    /// Newest first; only pending ones unless `includeAnswered`; one session's when given.
    func approvals(session: SessionID?, includeAnswered: Bool) async throws -> [Approval]
}

extension SQLiteStore: ApprovalStore {
    static func createApprovalTable(_ db: Database) throws {
        try db.create(table: "approval") { t in
            t.primaryKey("id", .text)
            t.column("session", .text).notNull().indexed()
            t.column("kind", .text).notNull()
            t.column("subject", .text).notNull()
            t.column("rule", .text).notNull()
            t.column("state", .text).notNull().indexed()
            t.column("requestedAt", .datetime).notNull()
            t.column("expiresAt", .datetime).notNull()
            t.column("decidedAt", .datetime)
            t.column("decidedBy", .text)
            t.column("note", .text)
        }
    }

    public func insertApproval(_ approval: Approval) async throws {
        let row = ApprovalRow(approval)
        try await write { db in try row.insert(db) }
    }

    public func updateApproval(_ approval: Approval) async throws {
        let row = ApprovalRow(approval)
        try await write { db in
            do { try row.update(db) } catch is RecordError {
                throw PaddockError.notFound("approval \(approval.id) does not exist")
            }
        }
    }

    public func approval(id: String) async throws -> Approval? {
        try await read { db in try ApprovalRow.fetchOne(db, key: id) }?.approval()
    }

    public func approvals(session: SessionID?, includeAnswered: Bool) async throws -> [Approval] {
        let rows = try await read { db in
            var request = ApprovalRow.order(Column("requestedAt").desc, Column("id"))
            if let session { request = request.filter(Column("session") == session.rawValue) }
            if !includeAnswered { request = request.filter(Column("state") == Approval.State.pending.rawValue) }
            return self.readable(try Row.fetchAll(db, request), "approval") { try ApprovalRow(row: $0).approval() }
        }
        return rows
    }
}

private struct ApprovalRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "approval"
    var id: String
    var session: String
    var kind: String
    var subject: String
    var rule: String
    var state: String
    var requestedAt: Date
    var expiresAt: Date
    var decidedAt: Date?
    var decidedBy: String?
    var note: String?

    init(_ a: Approval) {
        id = a.id
        session = a.session.rawValue
        kind = a.kind
        subject = a.subject
        rule = a.rule
        state = a.state.rawValue
        requestedAt = a.requestedAt
        expiresAt = a.expiresAt
        decidedAt = a.decidedAt
        decidedBy = a.decidedBy
        note = a.note
    }

    func approval() throws -> Approval {
        guard let sid = SessionID(rawValue: session), let st = Approval.State(rawValue: state) else {
            throw PaddockError.internal("the database holds a malformed approval row \(id)")
        }
        return Approval(
            id: id, session: sid, kind: kind, subject: subject, rule: rule, state: st, requestedAt: requestedAt,
            expiresAt: expiresAt, decidedAt: decidedAt, decidedBy: decidedBy, note: note)
    }
}
