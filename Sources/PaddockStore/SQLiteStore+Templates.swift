import Foundation
import GRDB
import PaddockCore

extension SQLiteStore {
    static func registerTemplateMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v4: templates") { db in
            try db.create(table: "template") { t in
                t.primaryKey("name", .text)
                // The whole record as JSON: read and written whole, never queried by field.
                t.column("record", .text).notNull()
            }
        }
    }

    public func putTemplate(_ template: Template) async throws {
        let record = String(decoding: try JSONEncoder().encode(template), as: UTF8.self)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO template (name, record) VALUES (?, ?) "
                    + "ON CONFLICT(name) DO UPDATE SET record = excluded.record",
                arguments: [template.name, record])
        }
    }

    public func template(_ name: String) async throws -> Template? {
        let record = try await read { db in
            try String.fetchOne(db, sql: "SELECT record FROM template WHERE name = ?", arguments: [name])
        }
        return try record.map { try JSONDecoder().decode(Template.self, from: Data($0.utf8)) }
    }

    public func templates() async throws -> [Template] {
        let records = try await read { db in
            try String.fetchAll(db, sql: "SELECT record FROM template ORDER BY name")
        }
        return try records.map { try JSONDecoder().decode(Template.self, from: Data($0.utf8)) }
    }

    public func deleteTemplate(_ name: String) async throws {
        try await write { db in try db.execute(sql: "DELETE FROM template WHERE name = ?", arguments: [name]) }
    }
}
