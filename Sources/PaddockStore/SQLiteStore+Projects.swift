import Foundation
import GRDB
import PaddockCore

extension SQLiteStore: ProjectStore {
    static func registerProjectMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("projects: repositories people pick by name") { db in
            try db.create(table: "project") { t in
                t.primaryKey("name", .text)
                // Compared on every update (compare-and-set); the record holds it too.
                t.column("revision", .integer).notNull()
                // The whole record as JSON: read and written whole, never queried by field. Projects are few,
                // and who may see one is decided from its teams by the service.
                t.column("record", .text).notNull()
            }
        }
    }

    public func insertProject(_ project: Project) async throws {
        let record = try Self.encode(project)
        try await write { db in
            do {
                try db.execute(
                    sql: "INSERT INTO project (name, revision, record) VALUES (?, ?, ?)",
                    arguments: [project.name, project.revision, record])
            } catch let e as DatabaseError where e.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                throw PaddockError(
                    .alreadyExists,
                    "a project named '\(project.name)' already exists; pick another name, or change it with "
                        + "`paddock projects update \(project.name)`")
            }
        }
    }

    public func updateProject(_ project: Project, expecting revision: Int) async throws {
        let record = try Self.encode(project)
        try await write { db in
            // One write transaction: nothing changes the row between the update and the check of what it hit.
            try db.execute(
                sql: "UPDATE project SET revision = ?, record = ? WHERE name = ? AND revision = ?",
                arguments: [project.revision, record, project.name, revision])
            guard db.changesCount == 0 else { return }
            let current = try Int.fetchOne(
                db, sql: "SELECT revision FROM project WHERE name = ?", arguments: [project.name])
            guard let current else {
                throw PaddockError.notFound(
                    "project '\(project.name)' does not exist (any more); `paddock projects list` shows the projects")
            }
            throw PaddockError.conflict(
                "project '\(project.name)' was changed by someone else meanwhile (it is at revision \(current), not "
                    + "\(revision)); look at it again with `paddock projects show \(project.name)` and reapply your "
                    + "change if it still applies")
        }
    }

    public func project(_ name: String) async throws -> Project? {
        let logger = self.logger
        return try await read { db in
            guard
                let record = try String.fetchOne(
                    db, sql: "SELECT record FROM project WHERE name = ?", arguments: [name])
            else { return nil }
            do { return try JSONDecoder().decode(Project.self, from: Data(record.utf8)) } catch {
                logger.error(
                    "a project row cannot be read",
                    metadata: ["project.name": "\(name)", "error": "\(Self.describe(error))"])
                throw PaddockError.internal(
                    "project '\(name)' is stored in a form this server cannot read; the server log has the cause")
            }
        }
    }

    public func projects() async throws -> [Project] {
        try await read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT name, record FROM project ORDER BY name")
            return self.readable(rows, "project") { row in
                try JSONDecoder().decode(
                    Project.self, from: Data(try row.decode(String.self, forColumn: "record").utf8))
            }
        }
    }

    public func deleteProject(_ name: String) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM project WHERE name = ?", arguments: [name])
            guard db.changesCount > 0 else {
                throw PaddockError.notFound(
                    "project '\(name)' does not exist; `paddock projects list` shows the projects")
            }
        }
    }

    private static func encode(_ project: Project) throws -> String {
        String(decoding: try JSONEncoder().encode(project), as: UTF8.self)
    }
}
