import Foundation
import GRDB
import PaddockCore

extension SQLiteStore: SecretStore {
    static func createSecretTable(_ db: Database) throws {
        try db.create(table: "vault_secret") { t in
            t.column("team", .text).notNull()
            t.column("name", .text).notNull()
            t.column("hosts", .text).notNull()
            t.column("allowHTTP", .boolean).notNull()
            t.column("sealed", .blob).notNull()
            t.column("createdAt", .datetime).notNull()
            t.column("updatedAt", .datetime).notNull()
            t.primaryKey(["team", "name"])
        }
    }

    /// Secrets that may be swapped into request bodies too (`paddock secrets set --in-body`).
    static func addSecretBodyColumn(_ db: Database) throws {
        try db.alter(table: "vault_secret") { t in t.add(column: "inBody", .boolean).notNull().defaults(to: false) }
    }

    public func putSecret(_ secret: StoredSecret) async throws {
        let hosts = String(decoding: try JSONEncoder().encode(secret.hosts), as: UTF8.self)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO vault_secret (team, name, hosts, allowHTTP, inBody, sealed, createdAt, updatedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (team, name) DO UPDATE SET hosts = excluded.hosts, allowHTTP = excluded.allowHTTP,
                    inBody = excluded.inBody, sealed = excluded.sealed, updatedAt = excluded.updatedAt
                    """,
                arguments: [
                    secret.team, secret.name, hosts, secret.allowHTTP, secret.inBody, secret.sealed, secret.createdAt,
                    secret.updatedAt,
                ])
        }
    }

    public func secret(team: String, name: String) async throws -> StoredSecret? {
        try await read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM vault_secret WHERE team = ? AND name = ?", arguments: [team, name]
            )
            .map(Self.storedSecret)
        }
    }

    public func secrets(team: String) async throws -> [StoredSecret] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM vault_secret WHERE team = ? ORDER BY name", arguments: [team])
                .map(Self.storedSecret)
        }
    }

    public func allSecrets() async throws -> [StoredSecret] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM vault_secret ORDER BY team, name").map(Self.storedSecret)
        }
    }

    public func deleteSecret(team: String, name: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM vault_secret WHERE team = ? AND name = ?", arguments: [team, name])
            return db.changesCount > 0
        }
    }

    private static func storedSecret(_ row: Row) throws -> StoredSecret {
        let hostsText: String = try row.decode(forColumn: "hosts")
        return StoredSecret(
            team: try row.decode(forColumn: "team"), name: try row.decode(forColumn: "name"),
            hosts: try JSONDecoder().decode([String].self, from: Data(hostsText.utf8)),
            allowHTTP: try row.decode(forColumn: "allowHTTP"),
            inBody: try row.decode(forColumn: "inBody"), sealed: try row.decode(forColumn: "sealed"),
            createdAt: try row.decode(forColumn: "createdAt"), updatedAt: try row.decode(forColumn: "updatedAt"))
    }
}
