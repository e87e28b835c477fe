import Foundation
import GRDB
import PaddockCore

extension SQLiteStore: PreviewStore {
    static func createPreviewShareTable(_ db: Database) throws {
        try db.create(table: "preview_share") { t in
            t.primaryKey("id", .text)
            t.column("session", .text).notNull().indexed()
            t.column("port", .integer).notNull()
            t.column("audience", .text).notNull()
            t.column("createdBy", .text).notNull()
            t.column("createdAt", .datetime).notNull()
            t.column("expiresAt", .datetime).notNull()
            t.column("revokedAt", .datetime)
            t.column("secretHash", .text).notNull().unique()
        }
    }

    static func createPreviewRestartTable(_ db: Database) throws {
        try db.create(table: "preview_restart") { t in
            t.primaryKey("session", .text)
            t.column("replacement", .text).notNull()
            t.column("restartedAt", .datetime).notNull()
        }
    }

    public func previewReplacement(of session: SessionID) async throws -> SessionID? {
        let stored = try await read { db in
            try String.fetchOne(
                db, sql: "SELECT replacement FROM preview_restart WHERE session = ?", arguments: [session.rawValue])
        }
        return try stored.map { try SessionID(validating: $0) }
    }

    public func setPreviewReplacement(of session: SessionID, _ replacement: SessionID, at: Date) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO preview_restart (session, replacement, restartedAt) VALUES (?, ?, ?)",
                arguments: [session.rawValue, replacement.rawValue, at])
        }
    }

    public func insertPreviewShare(_ share: PreviewShare, secretHash: String) async throws {
        let row = PreviewShareRow(share, secretHash: secretHash)
        try await write { db in try row.insert(db) }
    }

    public func previewShare(id: String) async throws -> PreviewShare? {
        try await read { db in try PreviewShareRow.fetchOne(db, key: id) }.map { try $0.share() }
    }

    public func previewShare(secretHash: String) async throws -> PreviewShare? {
        try await read { db in try PreviewShareRow.filter(Column("secretHash") == secretHash).fetchOne(db) }
            .map { try $0.share() }
    }

    public func previewShares(session: SessionID?) async throws -> [PreviewShare] {
        try await read { db in
            var request = PreviewShareRow.order(Column("createdAt").desc, Column("id"))
            if let session { request = request.filter(Column("session") == session.rawValue) }
            return self.readable(try Row.fetchAll(db, request), "preview share") {
                try PreviewShareRow(row: $0).share()
            }
        }
    }

    public func revokePreviewShare(id: String, at: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE preview_share SET revokedAt = ? WHERE id = ? AND revokedAt IS NULL", arguments: [at, id])
            return db.changesCount > 0
        }
    }
}

private struct PreviewShareRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "preview_share"
    var id: String
    var session: String
    var port: Int
    var audience: String
    var createdBy: String
    var createdAt: Date
    var expiresAt: Date
    var revokedAt: Date?
    var secretHash: String

    init(_ s: PreviewShare, secretHash: String) {
        id = s.id
        session = s.session.rawValue
        port = Int(s.port)
        audience = s.audience.description
        createdBy = s.createdBy
        createdAt = s.createdAt
        expiresAt = s.expiresAt
        revokedAt = s.revokedAt
        self.secretHash = secretHash
    }

    func share() throws -> PreviewShare {
        guard let port = UInt16(exactly: port) else { throw PaddockError.internal("stored port \(port) is invalid") }
        return PreviewShare(
            id: id, session: try SessionID(validating: session), port: port,
            audience: try PreviewAudience(parsing: audience), createdBy: createdBy, createdAt: createdAt,
            expiresAt: expiresAt, revokedAt: revokedAt)
    }
}
