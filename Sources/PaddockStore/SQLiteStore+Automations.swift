import Foundation
import GRDB
import PaddockCore

extension SQLiteStore: AutomationStore {
    static func registerAutomationMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("automations: triggers, their invocations and the outbox") { db in
            try db.create(table: "automation") { t in
                t.primaryKey("id", .text)
                // The whole record as JSON, read and written whole; automations are few.
                t.column("record", .text).notNull()
                // What webhook requests are signed with. HMAC needs the value itself, so it cannot be a hash; the
                // database is the owner's only (0600), like the session environments it already holds.
                t.column("secret", .text)
            }
            try db.create(table: "invocation") { t in
                t.primaryKey("id", .text)
                t.column("automation", .text).notNull().references("automation", onDelete: .cascade)
                t.column("dedupeKey", .text)
                t.column("decision", .text).notNull().indexed()
                t.column("receivedAt", .datetime).notNull()
                t.column("finished", .boolean).notNull().defaults(to: false)
                t.column("conversation", .text)
                t.column("record", .text).notNull()
            }
            try db.create(index: "invocation_conversation", on: "invocation", columns: ["automation", "conversation"])
            // Who a Slack user or a GitHub login is in Paddock: set explicitly by an admin.
            try db.create(table: "identity_link") { t in
                t.column("provider", .text).notNull()
                t.column("external", .text).notNull()
                t.column("account", .text).notNull().references("account", column: "name", onDelete: .cascade)
                t.primaryKey(["provider", "external"])
            }
            // The one guarantee replays rest on: an automation sees each dedupe key once. Deduplicated records
            // carry no key (NULLs are distinct in SQLite), so they never collide.
            try db.create(
                index: "invocation_dedupe", on: "invocation", columns: ["automation", "dedupeKey"], unique: true)
            try db.create(index: "invocation_by_time", on: "invocation", columns: ["automation", "receivedAt"])
            try db.create(table: "outbox") { t in
                t.primaryKey("id", .text)
                t.column("invocation", .text).notNull().indexed().references("invocation", onDelete: .cascade)
                t.column("status", .text).notNull().indexed()
                t.column("nextAttemptAt", .datetime).notNull()
                t.column("record", .text).notNull()
            }
        }
    }

    private static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    public func insertAutomation(_ automation: Automation, secret: String?) async throws {
        let record = try Self.json(automation)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO automation (id, record, secret) VALUES (?, ?, ?)",
                arguments: [automation.id, record, secret])
        }
    }

    public func updateAutomation(_ automation: Automation) async throws {
        let record = try Self.json(automation)
        try await write { db in
            try db.execute(sql: "UPDATE automation SET record = ? WHERE id = ?", arguments: [record, automation.id])
            guard db.changesCount > 0 else {
                throw PaddockError.notFound("automation \(automation.id) does not exist (any more)")
            }
        }
    }

    public func automation(_ id: String) async throws -> Automation? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT record FROM automation WHERE id = ?", arguments: [id]).map {
                try Self.decode(Automation.self, $0)
            }
        }
    }

    public func automations() async throws -> [Automation] {
        try await read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, record FROM automation ORDER BY id")
            return self.readable(rows, "automation") { row in
                try Self.decode(Automation.self, try row.decode(String.self, forColumn: "record"))
            }
        }
    }

    public func automationSecret(_ id: String) async throws -> String? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT secret FROM automation WHERE id = ?", arguments: [id])
        }
    }

    public func setAutomationSecret(_ id: String, secret: String) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE automation SET secret = ? WHERE id = ?", arguments: [secret, id])
            guard db.changesCount > 0 else { throw PaddockError.notFound("automation \(id) does not exist (any more)") }
        }
    }

    public func deleteAutomation(_ id: String) async throws {
        try await write { db in
            // Outbox rows go with their invocations, invocations with their automation (foreign keys cascade).
            try db.execute(sql: "DELETE FROM automation WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else {
                throw PaddockError.notFound("automation \(id) does not exist; `paddock automations list` shows them")
            }
        }
    }

    public func insertInvocation(_ invocation: Invocation, queueing messages: [OutboxMessage]) async throws
        -> Invocation
    {
        try await write { db in
            if let key = invocation.dedupeKey,
                let first = try String.fetchOne(
                    db, sql: "SELECT id FROM invocation WHERE automation = ? AND dedupeKey = ?",
                    arguments: [invocation.automation, key])
            {
                var replay = invocation
                replay.dedupeKey = nil
                replay.duplicateOf = first
                replay.decision = .deduplicated
                replay.reason = "the same event (key \(key)) arrived before as \(first); nothing was started"
                replay.processedAt = invocation.receivedAt
                try Self.insert(replay, db)
                return replay
            }
            try Self.insert(invocation, db)
            for message in messages { try Self.insert(message, db) }
            return invocation
        }
    }

    private static func finished(_ i: Invocation) -> Bool {
        switch i.decision {
        case .pending: false
        case .started: i.finishedAt != nil
        default: true
        }
    }

    private static func insert(_ i: Invocation, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO invocation (id, automation, dedupeKey, decision, receivedAt, finished, conversation, record)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                i.id, i.automation, i.dedupeKey, i.decision.rawValue, i.receivedAt, finished(i), i.conversation,
                try json(i),
            ])
    }

    public func updateInvocation(_ invocation: Invocation, queueing messages: [OutboxMessage]) async throws {
        let record = try Self.json(invocation)
        let done = Self.finished(invocation)
        try await write { db in
            try db.execute(
                sql: "UPDATE invocation SET decision = ?, finished = ?, record = ? WHERE id = ?",
                arguments: [invocation.decision.rawValue, done, record, invocation.id])
            guard db.changesCount > 0 else {
                throw PaddockError.notFound("invocation \(invocation.id) does not exist (its automation was removed)")
            }
            for message in messages { try Self.insert(message, db) }
        }
    }

    public func invocation(_ id: String) async throws -> Invocation? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT record FROM invocation WHERE id = ?", arguments: [id]).map {
                try Self.decode(Invocation.self, $0)
            }
        }
    }

    public func invocations(automation: String, limit: Int) async throws -> [Invocation] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT id, record FROM invocation WHERE automation = ? ORDER BY receivedAt DESC, rowid DESC LIMIT ?",
                arguments: [automation, limit])
            return self.readable(rows, "invocation") { row in
                try Self.decode(Invocation.self, try row.decode(String.self, forColumn: "record"))
            }
        }
    }

    public func unfinishedInvocations() async throws -> [Invocation] {
        try await read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, record FROM invocation WHERE finished = 0 ORDER BY receivedAt, rowid")
            return self.readable(rows, "invocation") { row in
                try Self.decode(Invocation.self, try row.decode(String.self, forColumn: "record"))
            }
        }
    }

    public func startedCount(automation: String, since: Date) async throws -> Int {
        try await read { db in
            try Int.fetchOne(
                db,
                sql:
                    "SELECT COUNT(*) FROM invocation WHERE automation = ? AND decision = 'started' AND receivedAt >= ?",
                arguments: [automation, since]) ?? 0
        }
    }

    public func startedInvocation(automation: String, conversation: String) async throws -> Invocation? {
        try await read { db in
            try String.fetchOne(
                db,
                sql: """
                    SELECT record FROM invocation WHERE automation = ? AND conversation = ? AND decision = 'started'
                    ORDER BY receivedAt DESC, rowid DESC LIMIT 1
                    """, arguments: [automation, conversation]
            ).map { try Self.decode(Invocation.self, $0) }
        }
    }

    public func startedInvocation(session: SessionID) async throws -> Invocation? {
        try await read { db in
            // The session lives in the JSON record only: this is asked once per approval, over few invocations.
            try String.fetchOne(
                db,
                sql: """
                    SELECT record FROM invocation WHERE decision = 'started' AND json_extract(record, '$.session') = ?
                    ORDER BY receivedAt DESC, rowid DESC LIMIT 1
                    """, arguments: [session.rawValue]
            ).map { try Self.decode(Invocation.self, $0) }
        }
    }

    public func setIdentityLink(provider: String, external: String, user: String?) async throws {
        try await write { db in
            guard let user else {
                try db.execute(
                    sql: "DELETE FROM identity_link WHERE provider = ? AND external = ?",
                    arguments: [provider, external])
                return
            }
            do {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO identity_link (provider, external, account) VALUES (?, ?, ?)",
                    arguments: [provider, external, user])
            } catch let e as DatabaseError where e.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY {
                throw PaddockError.notFound("user '\(user)' does not exist; `paddock users list` shows them")
            }
        }
    }

    public func linkedUser(provider: String, external: String) async throws -> String? {
        try await read { db in
            try String.fetchOne(
                db, sql: "SELECT account FROM identity_link WHERE provider = ? AND external = ?",
                arguments: [provider, external])
        }
    }

    public func identityLinks() async throws -> [IdentityLink] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT provider, external, account FROM identity_link ORDER BY provider, external"
            )
            .map {
                IdentityLink(
                    provider: try $0.decode(forColumn: "provider"), external: try $0.decode(forColumn: "external"),
                    user: try $0.decode(forColumn: "account"))
            }
        }
    }

    public func insertOutbox(_ message: OutboxMessage) async throws {
        try await write { db in try Self.insert(message, db) }
    }

    private static func insert(_ message: OutboxMessage, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO outbox (id, invocation, status, nextAttemptAt, record) VALUES (?, ?, ?, ?, ?)",
            arguments: [
                message.id, message.invocation, message.status.rawValue, message.nextAttemptAt, try json(message),
            ])
    }

    public func updateOutbox(_ message: OutboxMessage) async throws {
        let record = try Self.json(message)
        try await write { db in
            try db.execute(
                sql: "UPDATE outbox SET status = ?, nextAttemptAt = ?, record = ? WHERE id = ?",
                arguments: [message.status.rawValue, message.nextAttemptAt, record, message.id])
        }
    }

    public func pendingOutbox() async throws -> [OutboxMessage] {
        try await read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, record FROM outbox WHERE status = 'pending' ORDER BY nextAttemptAt, rowid")
            return self.readable(rows, "outbox message") { row in
                try Self.decode(OutboxMessage.self, try row.decode(String.self, forColumn: "record"))
            }
        }
    }

    public func outbox(invocation: String) async throws -> [OutboxMessage] {
        try await read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, record FROM outbox WHERE invocation = ? ORDER BY rowid", arguments: [invocation])
            return self.readable(rows, "outbox message") { row in
                try Self.decode(OutboxMessage.self, try row.decode(String.self, forColumn: "record"))
            }
        }
    }
}
