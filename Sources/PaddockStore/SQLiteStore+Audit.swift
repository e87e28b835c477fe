import Crypto
import Foundation
import GRDB
import PaddockCore

extension SQLiteStore: AuditStore {
    static func migrateAudit(_ db: Database) throws {
        // WITHOUT ROWID: the (session, seq) key is the row, so an event costs its bytes and hash, little more.
        try db.execute(
            sql: """
                CREATE TABLE audit_event (
                    session TEXT NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL, hash BLOB NOT NULL,
                    PRIMARY KEY (session, seq)) WITHOUT ROWID
                """)
        try db.create(table: "audit_head") { t in
            t.primaryKey("session", .text)
            t.column("seq", .integer).notNull()
            t.column("hash", .blob).notNull()
        }
    }

    public func appendAudit(
        session: SessionID, genesis: [UInt8], make: @escaping @Sendable (Int64, [UInt8]) throws -> [UInt8]
    ) async throws -> AuditRecord {
        // The write transaction commits with synchronous=FULL, so the event is on disk when this returns.
        try await write { db in
            let head = try Row.fetchOne(
                db, sql: "SELECT seq, hash FROM audit_head WHERE session = ?", arguments: [session.rawValue])
            var seq: Int64 = 1
            var prev = Array(SHA256.hash(data: genesis))
            if let head {
                let last: Int64 = head["seq"]
                let hash: Data = head["hash"]
                seq = last + 1
                prev = Array(hash)
            }
            let body = try make(seq, prev)
            let hash = Array(SHA256.hash(data: body))
            try db.execute(
                sql: "INSERT INTO audit_event (session, seq, body, hash) VALUES (?, ?, ?, ?)",
                arguments: [session.rawValue, seq, Data(body), Data(hash)])
            try db.execute(
                sql: "INSERT INTO audit_head (session, seq, hash) VALUES (?, ?, ?) "
                    + "ON CONFLICT(session) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                arguments: [session.rawValue, seq, Data(hash)])
            return AuditRecord(seq: seq, body: body, hash: hash)
        }
    }

    public func auditRecords(session: SessionID) async throws -> [AuditRecord] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT seq, body, hash FROM audit_event WHERE session = ? ORDER BY seq",
                arguments: [session.rawValue]
            ).map {
                AuditRecord(
                    seq: try $0.decode(forColumn: "seq"), body: Array(try $0.decode(Data.self, forColumn: "body")),
                    hash: Array(try $0.decode(Data.self, forColumn: "hash")))
            }
        }
    }

    public func auditHead(session: SessionID) async throws -> AuditHead? {
        try await read { db in
            try Row.fetchOne(
                db, sql: "SELECT seq, hash FROM audit_head WHERE session = ?", arguments: [session.rawValue]
            ).map {
                AuditHead(
                    seq: try $0.decode(forColumn: "seq"), hash: Array(try $0.decode(Data.self, forColumn: "hash")))
            }
        }
    }
}
