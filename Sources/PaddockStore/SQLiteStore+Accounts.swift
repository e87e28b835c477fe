import Foundation
import GRDB
import PaddockCore

extension SQLiteStore: AccountStore {
    /// Migration: passwords, invites, browser sessions and single sign-on identities. Every secret is stored as
    /// a hash (a slow KDF's output for passwords, SHA-256 for the random invite and cookie secrets). Rows of a
    /// removed user go with them (`ON DELETE CASCADE`), so removing someone also signs them out everywhere.
    static func migrateAccounts(_ db: Database) throws {
        try db.create(table: "account_password") { t in
            t.primaryKey("account", .text).references("account", onDelete: .cascade)
            t.column("kdf", .text).notNull()
            t.column("parameters", .text).notNull()
            t.column("salt", .blob).notNull()
            t.column("hash", .blob).notNull()
            t.column("updatedAt", .datetime).notNull()
        }
        try db.create(table: "invite") { t in
            t.primaryKey("id", .text)
            t.column("secretHash", .text).notNull().unique()
            t.column("account", .text)
            t.column("email", .text)
            t.column("role", .text).notNull()
            t.column("teams", .text).notNull()
            t.column("createdBy", .text).notNull()
            t.column("createdAt", .datetime).notNull()
            t.column("expiresAt", .datetime).notNull()
            t.column("usedAt", .datetime)
            t.column("usedBy", .text)
            t.column("revokedAt", .datetime)
        }
        try db.create(table: "browser_session") { t in
            t.primaryKey("id", .text)
            t.column("secretHash", .text).notNull().unique()
            t.column("account", .text).notNull().indexed().references("account", onDelete: .cascade)
            t.column("method", .text).notNull()
            t.column("createdAt", .datetime).notNull()
            t.column("lastSeenAt", .datetime).notNull()
            t.column("expiresAt", .datetime).notNull().indexed()
            t.column("userAgent", .text)
        }
        try db.create(table: "oidc_identity") { t in
            t.column("issuer", .text).notNull()
            t.column("subject", .text).notNull()
            t.column("account", .text).notNull().indexed().references("account", onDelete: .cascade)
            t.column("createdAt", .datetime).notNull()
            t.primaryKey(["issuer", "subject"])
        }
    }

    private static func isConstraintViolation(_ error: DatabaseError) -> Bool {
        error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
            || error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
    }

    private static func teamsText(_ teams: [String]) -> String { teams.joined(separator: ",") }

    private static func teams(_ text: String) -> [String] { text.split(separator: ",").map(String.init) }

    // MARK: Passwords

    public func password(user: String) async throws -> PasswordCredential? {
        try await read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT account, kdf, parameters, salt, hash, updatedAt FROM account_password WHERE account = ?",
                arguments: [user]
            ).map { row in
                let salt: Data = try row.decode(forColumn: "salt")
                let hash: Data = try row.decode(forColumn: "hash")
                return PasswordCredential(
                    user: try row.decode(forColumn: "account"), kdf: try row.decode(forColumn: "kdf"),
                    parameters: try row.decode(forColumn: "parameters"), salt: Array(salt), hash: Array(hash),
                    updatedAt: try row.decode(forColumn: "updatedAt"))
            }
        }
    }

    public func setPassword(_ credential: PasswordCredential) async throws {
        try await write { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM account WHERE name = ?", arguments: [credential.user]) != nil
            else {
                throw PaddockError.notFound("no user named '\(credential.user)'; `paddock users list` shows them")
            }
            try Self.upsertPassword(db, credential)
        }
    }

    private static func upsertPassword(_ db: Database, _ c: PasswordCredential) throws {
        try db.execute(
            sql: """
                INSERT INTO account_password (account, kdf, parameters, salt, hash, updatedAt) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(account) DO UPDATE SET kdf = excluded.kdf, parameters = excluded.parameters,
                    salt = excluded.salt, hash = excluded.hash, updatedAt = excluded.updatedAt
                """, arguments: [c.user, c.kdf, c.parameters, Data(c.salt), Data(c.hash), c.updatedAt])
    }

    // MARK: Invites

    private static let inviteColumns =
        "id, account, email, role, teams, createdBy, createdAt, expiresAt, usedAt, usedBy, revokedAt"

    private static func inviteRecord(_ row: Row) throws -> InviteRecord {
        let roleText: String = try row.decode(forColumn: "role")
        guard let role = Role(rawValue: roleText) else {
            throw PaddockError.internal("an invite row holds an unknown role '\(roleText)'")
        }
        return InviteRecord(
            id: try row.decode(forColumn: "id"), user: try row.decode(forColumn: "account"),
            email: try row.decode(forColumn: "email"), role: role, teams: teams(try row.decode(forColumn: "teams")),
            createdBy: try row.decode(forColumn: "createdBy"), createdAt: try row.decode(forColumn: "createdAt"),
            expiresAt: try row.decode(forColumn: "expiresAt"), usedAt: try row.decode(forColumn: "usedAt"),
            usedBy: try row.decode(forColumn: "usedBy"), revokedAt: try row.decode(forColumn: "revokedAt"))
    }

    public func insertInvite(_ invite: InviteRecord, secretHash: String) async throws {
        try await write { db in
            try db.execute(
                sql:
                    "INSERT INTO invite (id, secretHash, account, email, role, teams, createdBy, createdAt, expiresAt) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    invite.id, secretHash, invite.user, invite.email, invite.role.rawValue,
                    Self.teamsText(invite.teams), invite.createdBy, invite.createdAt, invite.expiresAt,
                ])
        }
    }

    public func invite(secretHash: String) async throws -> InviteRecord? {
        try await read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.inviteColumns) FROM invite WHERE secretHash = ?", arguments: [secretHash]
            ).map(Self.inviteRecord)
        }
    }

    public func invite(id: String) async throws -> InviteRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.inviteColumns) FROM invite WHERE id = ?", arguments: [id])
                .map(Self.inviteRecord)
        }
    }

    public func invites() async throws -> [InviteRecord] {
        try await read { db in
            self.readable(
                try Row.fetchAll(db, sql: "SELECT \(Self.inviteColumns) FROM invite ORDER BY createdAt DESC, id"),
                "invite", Self.inviteRecord)
        }
    }

    public func revokeInvite(id: String, now: Date) async throws -> InviteRecord {
        try await write { db in
            try db.execute(
                sql: "UPDATE invite SET revokedAt = ? WHERE id = ? AND revokedAt IS NULL AND usedAt IS NULL",
                arguments: [now, id])
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT \(Self.inviteColumns) FROM invite WHERE id = ?", arguments: [id])
            else {
                throw PaddockError.notFound("no invite with id '\(id)'; `paddock invites list` shows them")
            }
            return try Self.inviteRecord(row)
        }
    }

    public func redeemInvite(secretHash: String, account: UserAccount, password: PasswordCredential, now: Date)
        async throws -> InviteRecord
    {
        try await write { db in
            // Compare-and-set: of two browsers redeeming the same link at once, exactly one changes the row.
            try db.execute(
                sql: """
                    UPDATE invite SET usedAt = ?, usedBy = ?
                    WHERE secretHash = ? AND usedAt IS NULL AND revokedAt IS NULL AND expiresAt > ?
                    """, arguments: [now, account.name, secretHash, now])
            guard db.changesCount == 1 else {
                throw PaddockError.conflict(
                    "this invite cannot be used (it was used, revoked or has expired); ask an admin for a new one")
            }
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT \(Self.inviteColumns) FROM invite WHERE secretHash = ?", arguments: [secretHash])
            else { throw PaddockError.internal("the invite just redeemed cannot be read back") }
            let invite = try Self.inviteRecord(row)
            do {
                try db.execute(
                    sql: "INSERT INTO account (name, role, createdAt) VALUES (?, ?, ?)",
                    arguments: [account.name, account.role.rawValue, account.createdAt])
            } catch let e as DatabaseError where Self.isConstraintViolation(e) {
                throw PaddockError(
                    .alreadyExists, "a user named '\(account.name)' already exists; pick another name")
            }
            for team in invite.teams {
                guard try Row.fetchOne(db, sql: "SELECT 1 FROM team WHERE name = ?", arguments: [team]) != nil else {
                    throw PaddockError.notFound(
                        "the invite names team '\(team)', which no longer exists; ask an admin for a new invite")
                }
                try db.execute(
                    sql: "INSERT OR IGNORE INTO team_member (team, account) VALUES (?, ?)",
                    arguments: [team, account.name])
            }
            try Self.upsertPassword(db, password)
            return invite
        }
    }

    // MARK: Browser sessions

    private static let browserSessionColumns = "id, account, method, createdAt, lastSeenAt, expiresAt, userAgent"

    private static func browserSessionRecord(_ row: Row) throws -> BrowserSessionRecord {
        BrowserSessionRecord(
            id: try row.decode(forColumn: "id"), user: try row.decode(forColumn: "account"),
            method: try row.decode(forColumn: "method"), createdAt: try row.decode(forColumn: "createdAt"),
            lastSeenAt: try row.decode(forColumn: "lastSeenAt"), expiresAt: try row.decode(forColumn: "expiresAt"),
            userAgent: try row.decode(forColumn: "userAgent"))
    }

    public func insertBrowserSession(_ session: BrowserSessionRecord, secretHash: String) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO browser_session (id, secretHash, account, method, createdAt, lastSeenAt, expiresAt, "
                    + "userAgent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    session.id, secretHash, session.user, session.method, session.createdAt, session.lastSeenAt,
                    session.expiresAt, session.userAgent,
                ])
        }
    }

    public func browserSession(secretHash: String, now: Date) async throws -> ResolvedBrowserSession? {
        try await liveBrowserSession(.secretHash, is: secretHash, now: now)
    }

    /// The live browser session with this id (not its cookie: for a permission it granted once, checked again).
    public func browserSession(id: String, now: Date) async throws -> ResolvedBrowserSession? {
        try await liveBrowserSession(.id, is: id, now: now)
    }

    /// The columns a browser session is found by (a closed set: the name goes into the SQL text).
    private enum BrowserSessionKey: String { case id, secretHash }

    /// The unexpired browser session whose `key` column is `value`.
    private func liveBrowserSession(_ key: BrowserSessionKey, is value: String, now: Date) async throws
        -> ResolvedBrowserSession?
    {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT s.id, s.account, s.method, s.createdAt, s.lastSeenAt, s.expiresAt, s.userAgent, a.role
                        FROM browser_session s JOIN account a ON a.name = s.account
                        WHERE s.\(key.rawValue) = ? AND s.expiresAt > ?
                        """, arguments: [value, now]),
                let role = Role(rawValue: try row.decode(String.self, forColumn: "role"))
            else { return nil }
            let session = try Self.browserSessionRecord(row)
            return ResolvedBrowserSession(session: session, role: role, teams: try Self.grants(db, user: session.user))
        }
    }

    /// Team name → grant, for every team the user is in.
    private static func grants(_ db: Database, user: String) throws -> [String: Set<Permission>] {
        var teams: [String: Set<Permission>] = [:]
        for m in try Row.fetchAll(
            db,
            sql: "SELECT t.name, t.permissions FROM team_member m JOIN team t ON t.name = m.team WHERE m.account = ?",
            arguments: [user])
        {
            let team: String = try m.decode(forColumn: "name")
            let permissions: String? = try m.decode(forColumn: "permissions")
            teams[team] = scopes(permissions)
        }
        return teams
    }

    public func touchBrowserSession(id: String, lastSeenAt: Date) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE browser_session SET lastSeenAt = ? WHERE id = ?", arguments: [lastSeenAt, id])
        }
    }

    public func removeBrowserSession(id: String) async throws -> Bool {
        try await changeAccess { db in
            try db.execute(sql: "DELETE FROM browser_session WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    public func removeBrowserSessions(user: String) async throws -> Int {
        try await changeAccess { db in
            try db.execute(sql: "DELETE FROM browser_session WHERE account = ?", arguments: [user])
            return db.changesCount
        }
    }

    public func removeExpiredBrowserSessions(now: Date) async throws -> Int {
        try await changeAccess { db in
            try db.execute(sql: "DELETE FROM browser_session WHERE expiresAt <= ?", arguments: [now])
            return db.changesCount
        }
    }

    public func browserSessions(user: String?) async throws -> [BrowserSessionRecord] {
        try await read { db in
            let order = " ORDER BY createdAt DESC, id"
            let sql = "SELECT \(Self.browserSessionColumns) FROM browser_session"
            let rows =
                try user.map { try Row.fetchAll(db, sql: sql + " WHERE account = ?" + order, arguments: [$0]) }
                ?? Row.fetchAll(db, sql: sql + order)
            return self.readable(rows, "browser_session", Self.browserSessionRecord)
        }
    }

    // MARK: Single sign-on identities

    public func oidcUser(issuer: String, subject: String) async throws -> String? {
        try await read { db in
            try String.fetchOne(
                db, sql: "SELECT account FROM oidc_identity WHERE issuer = ? AND subject = ?",
                arguments: [issuer, subject])
        }
    }

    public func insertOIDCUser(_ account: UserAccount, issuer: String, subject: String) async throws {
        try await write { db in
            do {
                try db.execute(
                    sql: "INSERT INTO account (name, role, createdAt) VALUES (?, ?, ?)",
                    arguments: [account.name, account.role.rawValue, account.createdAt])
                try db.execute(
                    sql: "INSERT INTO oidc_identity (issuer, subject, account, createdAt) VALUES (?, ?, ?, ?)",
                    arguments: [issuer, subject, account.name, account.createdAt])
            } catch let e as DatabaseError where Self.isConstraintViolation(e) {
                throw PaddockError(
                    .alreadyExists,
                    "the user name '\(account.name)' or this identity is already taken; sign in again to retry")
            }
        }
    }

    public func syncMemberships(user: String, teams: Set<String>) async throws -> MembershipChange {
        try await changeAccess { db in
            let existing = Set(try String.fetchAll(db, sql: "SELECT name FROM team"))
            let current = Set(
                try String.fetchAll(db, sql: "SELECT team FROM team_member WHERE account = ?", arguments: [user]))
            let wanted = teams.intersection(existing)
            let added = wanted.subtracting(current).sorted()
            let removed = current.subtracting(wanted).sorted()
            for team in added {
                try db.execute(
                    sql: "INSERT INTO team_member (team, account) VALUES (?, ?)", arguments: [team, user])
            }
            for team in removed {
                try db.execute(
                    sql: "DELETE FROM team_member WHERE team = ? AND account = ?", arguments: [team, user])
            }
            return MembershipChange(
                added: added, removed: removed, unknown: teams.subtracting(existing).sorted())
        }
    }
}
