import Foundation
import GRDB
import PaddockCore

extension SQLiteStore: AccessStore {
    /// Migration v3. Tokens that existed before people did (the admin token) become the owner's, with every
    /// permission, so an upgraded server keeps working with the same admin.token.
    static func migrateAccessAndAudit(_ db: Database) throws {
        try db.create(table: "account") { t in
            t.primaryKey("name", .text)
            t.column("role", .text).notNull()
            t.column("createdAt", .datetime).notNull()
        }
        try db.create(table: "team") { t in
            t.primaryKey("name", .text)
            t.column("permissions", .text).notNull()
            t.column("createdAt", .datetime).notNull()
        }
        try db.create(table: "team_member") { t in
            t.column("team", .text).notNull().references("team", onDelete: .cascade)
            t.column("account", .text).notNull().indexed().references("account", onDelete: .cascade)
            t.primaryKey(["team", "account"])
        }
        try db.alter(table: "token") { t in
            t.add(column: "account", .text).references("account", onDelete: .setNull)
            t.add(column: "scopes", .text)
        }
        try db.alter(table: "session") { t in
            t.add(column: "team", .text)
            t.add(column: "createdBy", .text)
        }
        try db.create(table: "setting") { t in
            t.primaryKey("key", .text)
            t.column("value", .text).notNull()
        }
        try db.create(table: "emergency_stop") { t in
            t.primaryKey("scope", .text)
            t.column("byUser", .text).notNull()
            t.column("at", .datetime).notNull()
        }
        try migrateAudit(db)
        try db.execute(
            sql: "INSERT INTO account (name, role, createdAt) VALUES (?, ?, ?)",
            arguments: [UserAccount.ownerName, Role.owner.rawValue, Date()])
        try db.execute(
            sql: "UPDATE token SET account = ?, scopes = ? WHERE account IS NULL",
            arguments: [UserAccount.ownerName, Self.scopesText(Set(Permission.allCases))])
    }

    static func scopesText(_ scopes: Set<Permission>) -> String {
        Permission.allCases.filter(scopes.contains).map(\.rawValue).joined(separator: ",")
    }

    static func scopes(_ text: String?) -> Set<Permission> {
        Set((text ?? "").split(separator: ",").compactMap { Permission(rawValue: String($0)) })
    }

    private static func isUniqueViolation(_ error: DatabaseError) -> Bool {
        error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
            || error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
    }

    // MARK: People

    public func insertUser(_ user: UserAccount) async throws {
        try await write { db in
            do {
                try db.execute(
                    sql: "INSERT INTO account (name, role, createdAt) VALUES (?, ?, ?)",
                    arguments: [user.name, user.role.rawValue, user.createdAt])
            } catch let e as DatabaseError where Self.isUniqueViolation(e) {
                throw PaddockError(.alreadyExists, "a user named '\(user.name)' already exists; pick another name")
            }
        }
    }

    public func users() async throws -> [UserAccount] {
        try await read { db in
            self.readable(
                try Row.fetchAll(db, sql: "SELECT name, role, createdAt FROM account ORDER BY name"), "account",
                Self.userAccount)
        }
    }

    public func user(_ name: String) async throws -> UserAccount? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT name, role, createdAt FROM account WHERE name = ?", arguments: [name])
                .map(Self.userAccount)
        }
    }

    private static func userAccount(_ row: Row) throws -> UserAccount {
        let role: String = try row.decode(forColumn: "role")
        return UserAccount(
            name: try row.decode(forColumn: "name"), role: Role(rawValue: role) ?? .viewer,
            createdAt: try row.decode(forColumn: "createdAt"))
    }

    public func removeUser(_ name: String, now: Date) async throws {
        try await changeAccess { db in
            try db.execute(
                sql: "UPDATE token SET revokedAt = ? WHERE account = ? AND revokedAt IS NULL", arguments: [now, name])
            try db.execute(sql: "DELETE FROM account WHERE name = ?", arguments: [name])
            guard db.changesCount > 0 else {
                throw PaddockError.notFound("no user named '\(name)'; `paddock users list` shows them")
            }
        }
    }

    public func setRole(user: String, role: Role) async throws {
        try await changeAccess { db in
            try db.execute(sql: "UPDATE account SET role = ? WHERE name = ?", arguments: [role.rawValue, user])
            guard db.changesCount > 0 else {
                throw PaddockError.notFound("no user named '\(user)'; `paddock users list` shows them")
            }
        }
    }

    // MARK: Teams

    public func insertTeam(_ team: TeamRecord) async throws {
        try await write { db in
            do {
                try db.execute(
                    sql: "INSERT INTO team (name, permissions, createdAt) VALUES (?, ?, ?)",
                    arguments: [team.name, Self.scopesText(team.permissions), team.createdAt])
            } catch let e as DatabaseError where Self.isUniqueViolation(e) {
                throw PaddockError(.alreadyExists, "a team named '\(team.name)' already exists; pick another name")
            }
        }
    }

    public func teams() async throws -> [TeamRecord] {
        try await read { db in
            let members = try Row.fetchAll(db, sql: "SELECT team, account FROM team_member ORDER BY account")
            var byTeam: [String: [String]] = [:]
            for m in members {
                let team: String = try m.decode(forColumn: "team")
                byTeam[team, default: []].append(try m.decode(forColumn: "account"))
            }
            return try Row.fetchAll(
                db, sql: "SELECT name, permissions, createdAt, monthlyBudgetUSD FROM team ORDER BY name"
            ).map { row in
                let name: String = try row.decode(forColumn: "name")
                let permissions: String? = try row.decode(forColumn: "permissions")
                return TeamRecord(
                    name: name, permissions: Self.scopes(permissions), members: byTeam[name] ?? [],
                    createdAt: try row.decode(forColumn: "createdAt"),
                    monthlyBudgetUSD: try row.decode(forColumn: "monthlyBudgetUSD"))
            }
        }
    }

    public func team(_ name: String) async throws -> TeamRecord? {
        try await teams().first { $0.name == name }
    }

    public func setBudget(team: String, monthlyUSD: Double?) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE team SET monthlyBudgetUSD = ? WHERE name = ?", arguments: [monthlyUSD, team])
            guard db.changesCount > 0 else {
                throw PaddockError.notFound("no team named '\(team)'; `paddock teams list` shows them")
            }
        }
    }

    static func addTeamBudgetColumn(_ db: Database) throws {
        try db.alter(table: "team") { t in t.add(column: "monthlyBudgetUSD", .double) }
    }

    public func setMembership(team: String, user: String, member: Bool) async throws {
        try await changeAccess { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM team WHERE name = ?", arguments: [team]) != nil else {
                throw PaddockError.notFound("no team named '\(team)'; `paddock teams list` shows them")
            }
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM account WHERE name = ?", arguments: [user]) != nil else {
                throw PaddockError.notFound("no user named '\(user)'; add them with `paddock users add \(user)`")
            }
            if member {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO team_member (team, account) VALUES (?, ?)", arguments: [team, user])
            } else {
                try db.execute(
                    sql: "DELETE FROM team_member WHERE team = ? AND account = ?", arguments: [team, user])
                guard db.changesCount > 0 else {
                    throw PaddockError.notFound("'\(user)' is not a member of team '\(team)'")
                }
            }
        }
    }

    // MARK: Tokens

    public func insertToken(_ token: StoredToken, user: String, scopes: Set<Permission>) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO token (id, hash, name, createdAt, expiresAt, revokedAt, account, scopes) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    token.id, token.hash, token.name, token.createdAt, token.expiresAt, token.revokedAt, user,
                    Self.scopesText(scopes),
                ])
        }
    }

    public func principal(tokenHash: String, now: Date) async throws -> Principal? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT t.id, t.scopes, t.expiresAt, a.name, a.role FROM token t JOIN account a ON a.name = t.account
                        WHERE t.hash = ? AND t.revokedAt IS NULL AND (t.expiresAt IS NULL OR t.expiresAt > ?)
                        """, arguments: [tokenHash, now]),
                let role = Role(rawValue: try row.decode(String.self, forColumn: "role"))
            else { return nil }
            let name: String = try row.decode(forColumn: "name")
            var teams: [String: Set<Permission>] = [:]
            for m in try Row.fetchAll(
                db,
                sql:
                    "SELECT t.name, t.permissions FROM team_member m JOIN team t ON t.name = m.team WHERE m.account = ?",
                arguments: [name])
            {
                let team: String = try m.decode(forColumn: "name")
                let permissions: String? = try m.decode(forColumn: "permissions")
                teams[team] = Self.scopes(permissions)
            }
            let scopes: String? = try row.decode(forColumn: "scopes")
            var principal = Principal(
                user: name, role: role, tokenID: try row.decode(forColumn: "id"), scopes: Self.scopes(scopes),
                teams: teams)
            principal.tokenExpiresAt = try row.decode(forColumn: "expiresAt")
            return principal
        }
    }

    /// The principal of the token with this id, if it is still live (not revoked, not expired) and its user
    /// exists: for a permission granted once by that token (a preview cookie) checked again later.
    public func principal(tokenID: String, now: Date) async throws -> Principal? {
        let hash = try await read { db in
            try String.fetchOne(db, sql: "SELECT hash FROM token WHERE id = ?", arguments: [tokenID])
        }
        guard let hash else { return nil }
        return try await principal(tokenHash: hash, now: now)
    }

    private static let tokenColumns = "id, name, account, scopes, createdAt, expiresAt, revokedAt"

    private static func tokenRecord(_ row: Row) throws -> TokenRecord {
        let scopeText: String? = try row.decode(forColumn: "scopes")
        return TokenRecord(
            id: try row.decode(forColumn: "id"), name: try row.decode(forColumn: "name"),
            user: try row.decode(forColumn: "account"), scopes: scopes(scopeText),
            createdAt: try row.decode(forColumn: "createdAt"), expiresAt: try row.decode(forColumn: "expiresAt"),
            revokedAt: try row.decode(forColumn: "revokedAt"))
    }

    public func tokens(user: String?) async throws -> [TokenRecord] {
        try await read { db in
            let order = " ORDER BY createdAt DESC, id"
            let rows =
                try user.map {
                    try Row.fetchAll(
                        db, sql: "SELECT \(Self.tokenColumns) FROM token WHERE account = ?" + order, arguments: [$0])
                } ?? Row.fetchAll(db, sql: "SELECT \(Self.tokenColumns) FROM token" + order)
            return self.readable(rows, "token", Self.tokenRecord)
        }
    }

    public func token(id: String) async throws -> TokenRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.tokenColumns) FROM token WHERE id = ?", arguments: [id])
                .map(Self.tokenRecord)
        }
    }

    public func revokeToken(id: String, now: Date) async throws -> TokenRecord {
        try await changeAccess { db in
            try db.execute(
                sql: "UPDATE token SET revokedAt = ? WHERE id = ? AND revokedAt IS NULL", arguments: [now, id])
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT \(Self.tokenColumns) FROM token WHERE id = ?", arguments: [id])
            else {
                throw PaddockError.notFound("no token with id '\(id)'; `paddock tokens list` shows them")
            }
            return try Self.tokenRecord(row)
        }
    }

    // MARK: Org settings

    public func orgLimits() async throws -> OrgLimits {
        try await read { db in
            guard let text = try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'limits'") else {
                return OrgLimits()
            }
            return try JSONDecoder().decode(OrgLimits.self, from: Data(text.utf8))
        }
    }

    public func setOrgLimits(_ limits: OrgLimits) async throws {
        let text = String(decoding: try JSONEncoder().encode(limits), as: UTF8.self)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO setting (key, value) VALUES ('limits', ?) "
                    + "ON CONFLICT(key) DO UPDATE SET value = excluded.value", arguments: [text])
        }
    }

    /// The scope of a stop covering every team.
    private static let everyTeam = "*"

    public func emergencyStops() async throws -> [EmergencyStop] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT scope, byUser, at FROM emergency_stop ORDER BY at").map {
                let scope: String = try $0.decode(forColumn: "scope")
                let by: String = try $0.decode(forColumn: "byUser")
                let at: Date = try $0.decode(forColumn: "at")
                return EmergencyStop(team: scope == Self.everyTeam ? nil : scope, by: by, at: at)
            }
        }
    }

    public func setEmergencyStop(_ stop: EmergencyStop) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO emergency_stop (scope, byUser, at) VALUES (?, ?, ?)",
                arguments: [stop.team ?? Self.everyTeam, stop.by, stop.at])
        }
    }

    public func liftEmergencyStops(team: String?) async throws -> Int {
        try await write { db in
            if let team {
                try db.execute(sql: "DELETE FROM emergency_stop WHERE scope = ?", arguments: [team])
            } else {
                try db.execute(sql: "DELETE FROM emergency_stop")
            }
            return db.changesCount
        }
    }

    public func liveSessionCount(team: String?, user: String?) async throws -> Int {
        try await read { db in
            var sql = "SELECT COUNT(*) FROM session WHERE state NOT IN ('destroyed', 'failed')"
            var arguments: StatementArguments = []
            if let team {
                sql += " AND team = ?"
                arguments += [team]
            }
            if let user {
                sql += " AND createdBy = ?"
                arguments += [user]
            }
            return try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0
        }
    }
}
