import Foundation
import GRDB
import Logging
import PaddockCore
import PaddockObservability
import Synchronization

/// The embedded store: one SQLite file in WAL mode, schema managed by GRDB migrations. Every write is a
/// transaction, so a crash leaves either the old or the new state, never half of one.
public final class SQLiteStore: Store {
    /// A WAL pool over the file; an in-memory queue for tests (`inMemory`).
    private let pool: any DatabaseWriter
    /// The database, for the store's extensions in other files.
    var writer: any DatabaseWriter { pool }
    /// Reports rows that cannot be read.
    let logger: Logger
    /// Counts changes to who may do what (`accessEpoch`).
    private let accessChanges = Atomic<UInt64>(0)
    /// Counts session writes (`sessionEpoch`).
    private let sessionChanges = Atomic<UInt64>(0)

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    public init(path: String, logger: Logger = Logger(label: "paddock.store")) throws {
        self.logger = logger
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        try Self.restrictToOwner(path)
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch {
            throw PaddockError.unavailable(
                "cannot open the database at \(path); check the data directory is writable and not used by "
                    + "another paddock server", underlying: error)
        }
    }

    /// A store that lives in memory only, with the same schema and SQL as the file: for tests of the services'
    /// rules (state machine, races, auditing) that need no disk and run in milliseconds.
    public static func inMemory(logger: Logger = Logger(label: "paddock.store")) throws -> SQLiteStore {
        let queue = try DatabaseQueue()
        try migrator.migrate(queue)
        return SQLiteStore(database: queue, logger: logger)
    }

    private init(database: any DatabaseWriter, logger: Logger) {
        self.logger = logger
        pool = database
    }

    /// Reads through GRDB's async API, and only it. Its blocking twin, which Swift picks without a word when the
    /// closure returns something not Sendable (a `Row`), holds a concurrency thread while it waits for a free
    /// reader; under load (20 parallel execs) every thread did, the async reads holding the readers could not
    /// resume, and the server stopped answering. Here a non-Sendable result does not compile.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let started = ContinuousClock.now
        defer { PaddockMetrics.storeOperation("read", duration: .now - started) }
        return try await pool.read(body)
    }

    /// Writes through GRDB's async API, for the same reason as `read`.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let started = ContinuousClock.now
        defer { PaddockMetrics.storeOperation("write", duration: .now - started) }
        return try await pool.write(body)
    }

    /// A write that changes who may do what: a user, role, membership, token or browser session removed or
    /// changed. Counted after it, whether it committed or not (a needless re-check costs a read, a missed one
    /// would let a cached permission outlive its change).
    func changeAccess<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        defer { accessChanges.add(1, ordering: .releasing) }
        return try await write(body)
    }

    public var accessEpoch: UInt64 { accessChanges.load(ordering: .acquiring) }

    /// A write of a session row, the only kind there is (`insertSession`, `updateSession`). Counted after it,
    /// whether it committed or not, for the same reason as `changeAccess`: a cached row must not outlive it.
    private func changeSession<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        defer { sessionChanges.add(1, ordering: .releasing) }
        return try await write(body)
    }

    public var sessionEpoch: UInt64 { sessionChanges.load(ordering: .acquiring) }

    /// The database holds session environments and token hashes: only its owner may read it. SQLite gives its
    /// `-wal` and `-shm` files the database file's mode, so creating that file 0600 first covers them; files left
    /// readable by an older version are narrowed too.
    static func restrictToOwner(_ path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PaddockError.unavailable(
                "cannot create the database at \(path) (\(String(cString: strerror(errno)))); check the data "
                    + "directory is writable")
        }
        close(fd)
        for file in [path, path + "-wal", path + "-shm"] where access(file, F_OK) == 0 {
            guard chmod(file, 0o600) == 0 else {
                throw PaddockError.unavailable(
                    "cannot make \(file) private (\(String(cString: strerror(errno)))); chmod 600 it")
            }
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: sessions and tokens") { db in
            try db.create(table: "session") { t in
                t.primaryKey("id", .text)
                t.column("state", .text).notNull().indexed()
                t.column("spec", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.column("expiresAt", .datetime).indexed()
                t.column("reason", .text)
            }
            try db.create(table: "token") { t in
                t.primaryKey("id", .text)
                t.column("hash", .text).notNull().unique()
                t.column("name", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("expiresAt", .datetime)
                t.column("revokedAt", .datetime)
            }
        }
        m.registerMigration("v2: warm pools and how sessions started") { db in
            try db.alter(table: "session") { t in t.add(column: "start", .text) }
            try db.create(table: "pool") { t in
                t.column("provider", .text).notNull()
                t.column("template", .text).notNull()
                t.column("size", .integer).notNull()
                t.primaryKey(["provider", "template"])
            }
        }
        registerSnapshotMigration(&m)
        registerTemplateMigration(&m)
        m.registerMigration("guardrails: session policy and approvals") { db in
            try db.alter(table: "session") { t in t.add(column: "policy", .text) }
            try Self.createApprovalTable(db)
        }
        m.registerMigration("gateway: secrets vault") { db in try createSecretTable(db) }
        m.registerMigration("v5: people, teams, token owners, org settings and the audit trail") { db in
            try migrateAccessAndAudit(db)
        }
        m.registerMigration("gateway: secrets swapped in request bodies") { db in try addSecretBodyColumn(db) }
        m.registerMigration("runs: team monthly budgets") { db in try addTeamBudgetColumn(db) }
        registerReviewMigration(&m)
        registerRunMigration(&m)
        registerProjectMigration(&m)
        m.registerMigration("accounts: passwords, invites, browser sessions, SSO") { db in try migrateAccounts(db) }
        registerAutomationMigration(&m)
        m.registerMigration("previews: share links") { db in try createPreviewShareTable(db) }
        m.registerMigration("observability: model calls metered at the gateway") { db in try createModelCallTable(db) }
        m.registerMigration("accounts: the e-mail address an identity provider verified") { db in
            try addVerifiedEmail(db)
        }
        m.registerMigration("previews: sessions restarted in place of destroyed ones") { db in
            try createPreviewRestartTable(db)
        }
        m.registerMigration("snapshots: what a snapshot keeps (files, or processes too)") { db in
            try addSnapshotKeepsColumn(db)
        }
        return m
    }

    private static let terminal = [SessionState.destroyed.rawValue, SessionState.failed.rawValue]

    public func insertSession(_ session: Session) async throws {
        let row = try SessionRow(session)
        try await changeSession { db in
            do { try row.insert(db) } catch let e as DatabaseError
                where e.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
            {
                throw PaddockError.conflict("a session with id \(session.id) already exists")
            }
        }
    }

    public func updateSession(_ session: Session, expecting expected: SessionState) async throws {
        let row = try SessionRow(session)
        let id = session.id
        try await changeSession { db in
            // One write transaction: nothing changes the row between this read and the update.
            let current = try String.fetchOne(
                db, sql: "SELECT state FROM session WHERE id = ?", arguments: [id.rawValue])
            guard let current else { throw PaddockError.notFound("session \(id) does not exist") }
            guard current == expected.rawValue else { throw Self.lostRace(id, expected: expected, found: current) }
            try row.update(db)
        }
    }

    static func lostRace(_ id: SessionID, expected: SessionState, found: String) -> PaddockError {
        .conflict(
            "session \(id) changed while this operation ran (it is \(found) now, not \(expected.rawValue)); "
                + "look at it again with `paddock session get \(id)` and retry if it still applies")
    }

    public func session(_ id: SessionID) async throws -> Session? {
        let logger = self.logger
        return try await read { db in
            guard let row = try Row.fetchOne(db, SessionRow.filter(key: id.rawValue)) else { return nil }
            do { return try SessionRow(row: row).session() } catch {
                logger.error(
                    "a session row cannot be read",
                    metadata: ["session.id": "\(id)", "error": "\(Self.describe(error))"])
                throw PaddockError.internal(
                    "session \(id) is stored in a form this server cannot read; the server log has the cause")
            }
        }
    }

    public func sessions(includeTerminal: Bool) async throws -> [Session] {
        let rows = try await read { db in
            var request = SessionRow.order(Column("createdAt").desc, Column("id"))
            if !includeTerminal { request = request.filter(!Self.terminal.contains(Column("state"))) }
            return self.readable(try Row.fetchAll(db, request), "session") { try SessionRow(row: $0).session() }
        }
        return rows
    }

    public func expiredSessions(now: Date) async throws -> [Session] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                SessionRow
                    .filter(Column("expiresAt") != nil && Column("expiresAt") <= now)
                    .filter(!Self.terminal.contains(Column("state"))))
            return self.readable(rows, "session") { try SessionRow(row: $0).session() }
        }
    }

    /// What went wrong with a row, for the log: the type and the column, never the row's values (a session's
    /// spec holds its environment, a token row its hash).
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if error is RowDecodingError {
            let head = text.range(of: " from database value").map { String(text[..<$0.lowerBound]) }
            let column = text.range(of: #"column: "[^"]*""#, options: .regularExpression).map { String(text[$0]) }
            return [head ?? "could not decode a column", column].compactMap { $0 }.joined(separator: ", ")
        }
        if let e = error as? DecodingError {
            let context: DecodingError.Context? =
                switch e {
                case .dataCorrupted(let c), .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c): c
                @unknown default: nil
                }
            let path = context?.codingPath.map(\.stringValue).joined(separator: ".") ?? ""
            return "stored JSON does not match its type at '\(path)'"
        }
        if let e = error as? PaddockError { return e.message }
        return "\(type(of: error))"
    }

    /// Decodes rows one at a time. A row this server cannot read (a value out of range, written by an older
    /// bug or by hand) is logged and left out, so one bad row never fails a whole list — nor the server start
    /// that lists sessions to recover them.
    func readable<T>(_ rows: [Row], _ what: String, _ decode: (Row) throws -> T) -> [T] {
        rows.compactMap { row in
            do { return try decode(row) } catch {
                let id =
                    (try? row.decode(String.self, forColumn: "id")) ?? (try? row.decode(String.self, forColumn: "name"))
                logger.error(
                    "skipped a \(what) row that cannot be read",
                    metadata: ["row.table": "\(what)", "row.id": "\(id ?? "?")", "error": "\(Self.describe(error))"])
                return nil
            }
        }
    }

    public func poolTargets() async throws -> [PoolTarget] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT provider, template, size FROM pool ORDER BY provider, template").map {
                PoolTarget(
                    provider: try $0.decode(forColumn: "provider"), template: try $0.decode(forColumn: "template"),
                    size: try $0.decode(forColumn: "size"))
            }
        }
    }

    public func setPoolTarget(_ target: PoolTarget) async throws {
        try await write { db in
            if target.size <= 0 {
                try db.execute(
                    sql: "DELETE FROM pool WHERE provider = ? AND template = ?",
                    arguments: [target.provider, target.template])
            } else {
                try db.execute(
                    sql: "INSERT INTO pool (provider, template, size) VALUES (?, ?, ?) "
                        + "ON CONFLICT(provider, template) DO UPDATE SET size = excluded.size",
                    arguments: [target.provider, target.template, target.size])
            }
        }
    }

    public func insertToken(_ token: StoredToken) async throws {
        let row = TokenRow(token)
        try await write { db in try row.insert(db) }
    }

    public func validToken(hash: String, now: Date) async throws -> StoredToken? {
        try await read { db in
            try TokenRow
                .filter(Column("hash") == hash && Column("revokedAt") == nil)
                .filter(Column("expiresAt") == nil || Column("expiresAt") > now)
                .fetchOne(db)
        }?.token
    }

    public func tokenCount() async throws -> Int {
        try await read { db in try TokenRow.fetchCount(db) }
    }
}

/// A session row. The spec is stored as JSON: it is read and written whole, never queried by field.
private struct SessionRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "session"
    var id: String
    var state: String
    var spec: String
    var createdAt: Date
    var updatedAt: Date
    var expiresAt: Date?
    var reason: String?
    var start: String?
    var policy: String?
    var team: String?
    var createdBy: String?

    init(_ s: Session) throws {
        id = s.id.rawValue
        state = s.state.rawValue
        spec = String(decoding: try JSONEncoder().encode(s.spec), as: UTF8.self)
        createdAt = s.createdAt
        updatedAt = s.updatedAt
        expiresAt = s.expiresAt
        reason = s.reason
        start = s.start
        policy = try s.policy.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        team = s.team
        createdBy = s.createdBy
    }

    func session() throws -> Session {
        guard let sid = SessionID(rawValue: id), let st = SessionState(rawValue: state) else {
            throw PaddockError.internal("the database holds a malformed session row \(id)")
        }
        let decoded = try JSONDecoder().decode(SessionSpec.self, from: Data(spec.utf8))
        var session = Session(
            id: sid, state: st, spec: decoded, createdAt: createdAt, updatedAt: updatedAt, expiresAt: expiresAt,
            reason: reason)
        session.start = start
        session.policy = try policy.map { try JSONDecoder().decode(SessionPolicy.self, from: Data($0.utf8)) }
        session.team = team
        session.createdBy = createdBy
        return session
    }
}

private struct TokenRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "token"
    var id: String
    var hash: String
    var name: String
    var createdAt: Date
    var expiresAt: Date?
    var revokedAt: Date?

    init(_ t: StoredToken) {
        id = t.id
        hash = t.hash
        name = t.name
        createdAt = t.createdAt
        expiresAt = t.expiresAt
        revokedAt = t.revokedAt
    }

    var token: StoredToken {
        StoredToken(id: id, hash: hash, name: name, createdAt: createdAt, expiresAt: expiresAt, revokedAt: revokedAt)
    }
}
