import Foundation
import GRDB
import PaddockCore

/// The e-mail address an identity provider vouched for (OIDC `email_verified`), kept with the account so an
/// outside identity that vouches for the same address (Slack's confirmed e-mail) can be mapped to the person.
/// Only verified addresses are stored, at most one account per address.
public protocol VerifiedEmailStore: Sendable {
    /// Sets the account's verified address (lowercased); nil removes it. `alreadyExists` when another account
    /// holds it.
    func setVerifiedEmail(user: String, email: String?) async throws
    /// The account whose verified address this is, if any.
    func user(verifiedEmail: String) async throws -> String?
}

extension SQLiteStore: VerifiedEmailStore {
    static func addVerifiedEmail(_ db: Database) throws {
        try db.alter(table: "account") { t in t.add(column: "verifiedEmail", .text) }
        // NULLs are distinct: accounts without an address never collide.
        try db.create(index: "account_verified_email", on: "account", columns: ["verifiedEmail"], unique: true)
    }

    public func setVerifiedEmail(user: String, email: String?) async throws {
        let address = email?.lowercased()
        try await write { db in
            do {
                try db.execute(
                    sql: "UPDATE account SET verifiedEmail = ? WHERE name = ?", arguments: [address, user])
            } catch let e as DatabaseError where e.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw PaddockError(.alreadyExists, "another account already has this verified e-mail address")
            }
            guard db.changesCount > 0 else { throw PaddockError.notFound("user '\(user)' does not exist") }
        }
    }

    public func user(verifiedEmail: String) async throws -> String? {
        try await read { db in
            try String.fetchOne(
                db, sql: "SELECT name FROM account WHERE verifiedEmail = ?", arguments: [verifiedEmail.lowercased()])
        }
    }
}
