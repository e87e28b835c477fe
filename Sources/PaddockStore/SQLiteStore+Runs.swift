import Foundation
import GRDB
import PaddockCore

extension SQLiteStore: RunStore {
    static func registerRunMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("agents: runs and run events") { db in
            try db.create(table: "run") { t in
                t.primaryKey("id", .text)
                t.column("session", .text).notNull().indexed()
                t.column("team", .text).indexed()
                t.column("status", .text).notNull()
                t.column("createdAt", .datetime).notNull().indexed()
                // The whole record as JSON: it grows (commands, files) and is read whole.
                t.column("body", .text).notNull()
            }
            try db.create(table: "run_event") { t in
                t.column("run", .text).notNull().references("run", onDelete: .cascade)
                t.column("seq", .integer).notNull()
                t.column("body", .text).notNull()
                t.primaryKey(["run", "seq"])
            }
        }
    }

    public func insertRun(_ run: Run) async throws {
        let row = try RunRow(run)
        try await write { db in
            do { try row.insert(db) } catch let e as DatabaseError
                where e.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
            {
                throw PaddockError.conflict("a run with id \(run.id) already exists")
            }
        }
    }

    public func updateRun(_ run: Run) async throws {
        let row = try RunRow(run)
        try await write { db in
            do { try row.update(db) } catch is RecordError {
                throw PaddockError.notFound("run \(run.id) does not exist")
            }
        }
    }

    public func run(id: String) async throws -> Run? {
        try await read { db in try RunRow.fetchOne(db, key: id) }?.run()
    }

    public func runs(session: SessionID?, team: String?, since: Date?, limit: Int?) async throws -> [Run] {
        let rows = try await read { db in
            var request = RunRow.order(Column("createdAt").desc, Column("id"))
            if let session { request = request.filter(Column("session") == session.rawValue) }
            if let team { request = request.filter(Column("team") == team) }
            if let since { request = request.filter(Column("createdAt") >= since) }
            if let limit { request = request.limit(limit) }
            return self.readable(try Row.fetchAll(db, request), "run") { try RunRow(row: $0).run() }
        }
        return rows
    }

    public func appendRunEvent(_ event: RunEvent) async throws {
        let body = String(decoding: try Self.runCoding.encoder.encode(event), as: UTF8.self)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO run_event (run, seq, body) VALUES (?, ?, ?)",
                arguments: [event.run, event.seq, body])
        }
    }

    public func runEvents(run: String, after: Int) async throws -> [RunEvent] {
        let bodies = try await read { db in
            try String.fetchAll(
                db, sql: "SELECT body FROM run_event WHERE run = ? AND seq > ? ORDER BY seq", arguments: [run, after])
        }
        return try bodies.map { try Self.runCoding.decoder.decode(RunEvent.self, from: Data($0.utf8)) }
    }

    static let runCoding: (encoder: JSONEncoder, decoder: JSONDecoder) = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .secondsSince1970
        e.outputFormatting = [.sortedKeys]
        let d = JSONDecoder()
        d.dateDecodingStrategy = .secondsSince1970
        return (e, d)
    }()
}

private struct RunRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "run"
    var id: String
    var session: String
    var team: String?
    var status: String
    var createdAt: Date
    var body: String

    init(_ r: Run) throws {
        id = r.id
        session = r.session.rawValue
        team = r.team
        status = r.status.rawValue
        createdAt = r.createdAt
        body = String(decoding: try SQLiteStore.runCoding.encoder.encode(r), as: UTF8.self)
    }

    func run() throws -> Run {
        do { return try SQLiteStore.runCoding.decoder.decode(Run.self, from: Data(body.utf8)) } catch {
            throw PaddockError.internal("the database holds a malformed run row \(id)", underlying: error)
        }
    }
}
