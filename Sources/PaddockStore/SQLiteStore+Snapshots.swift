import Foundation
import GRDB
import PaddockCore

extension SQLiteStore {
    static func registerSnapshotMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v3: snapshots") { db in
            try db.create(table: "snapshot") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).unique()
                t.column("session", .text).notNull()
                t.column("provider", .text).notNull()
                t.column("template", .text).notNull()
                t.column("layer", .text).notNull()
                t.column("bytes", .integer).notNull()
                t.column("entries", .integer).notNull()
                t.column("createdAt", .datetime).notNull()
            }
        }
    }

    /// Snapshots that keep processes (a gVisor checkpoint beside the files); the ones before kept files only.
    static func addSnapshotKeepsColumn(_ db: Database) throws {
        try db.alter(table: "snapshot") { t in t.add(column: "keeps", .text).notNull().defaults(to: "files") }
    }

    public func insertSnapshot(_ snapshot: Snapshot) async throws {
        let row = SnapshotRow(snapshot)
        try await write { db in
            do { try row.insert(db) } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
                throw PaddockError(
                    .alreadyExists,
                    "a snapshot named '\(snapshot.name ?? snapshot.id)' already exists; choose another name or "
                        + "remove it with `paddock snapshot rm`")
            }
        }
    }

    public func snapshot(_ idOrName: String) async throws -> Snapshot? {
        try await read { db in
            try SnapshotRow.filter(Column("id") == idOrName || Column("name") == idOrName).fetchOne(db)
        }.flatMap { try? $0.snapshot() }
    }

    public func snapshots() async throws -> [Snapshot] {
        let rows = try await read { db in
            self.readable(try Row.fetchAll(db, SnapshotRow.order(Column("createdAt").desc, Column("id"))), "snapshot") {
                try SnapshotRow(row: $0).snapshot()
            }
        }
        return rows
    }

    public func deleteSnapshot(id: String) async throws {
        _ = try await write { db in try SnapshotRow.deleteOne(db, key: id) }
    }
}

private struct SnapshotRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "snapshot"
    var id: String
    var name: String?
    var session: String
    var provider: String
    var template: String
    var layer: String
    var bytes: Int64
    var entries: Int
    var createdAt: Date
    var keeps: String

    init(_ s: Snapshot) {
        id = s.id
        name = s.name
        session = s.session.rawValue
        provider = s.provider
        template = s.template
        layer = s.layer
        bytes = Int64(clamping: s.bytes)
        entries = s.entries
        createdAt = s.createdAt
        keeps = s.keeps.rawValue
    }

    func snapshot() throws -> Snapshot {
        Snapshot(
            id: id, name: name, session: try SessionID(validating: session), provider: provider, template: template,
            layer: layer, bytes: UInt64(max(0, bytes)), entries: entries, createdAt: createdAt,
            keeps: try Snapshot.Keeps(parsing: keeps))
    }
}
