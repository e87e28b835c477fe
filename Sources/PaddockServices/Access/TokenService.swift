import Crypto
import Foundation
import PaddockCore
import PaddockStore

/// Issues and checks API tokens. Only a SHA-256 of each token is stored; the token itself is shown once.
/// Every token belongs to a user and carries scopes (permissions) that never exceed the user's role.
public struct TokenService: Sendable {
    public let access: any Store & AccessStore
    /// Shared by the copies of this service: every request of every door authenticates through it.
    /// The callers behind tokens that authenticated lately, so a request does not read the store to learn what it
    /// learnt a moment ago. An entry holds while nothing about access changed (every change to who may do what goes
    /// through the store's `changeAccess` and moves its `accessEpoch`) and until the token expires. Unknown tokens
    /// are never kept: a token issued a moment after a miss must work at once.
    private let known = EpochMemory<String, Principal>()

    public init(store: any Store & AccessStore) { access = store }

    public static func hash(_ token: String) -> String {
        // Every authenticated request hashes its token: hex digits by table, not a formatted string per byte.
        var text: [UInt8] = []
        text.reserveCapacity(2 * SHA256.byteCount)
        for byte in SHA256.hash(data: Data(token.utf8)) {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A new random token (`pdk_` + 256 bits, hex).
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        return "pdk_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    /// A token id: 16 hex digits. Short, because every audit event carries the id of the token behind it.
    static func newID() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    /// Issues a token for `user` (default: the owner, with every permission) and returns the secret, which is
    /// not stored anywhere.
    public func issue(
        name: String, user: String = UserAccount.ownerName, scopes: Set<Permission> = Set(Permission.allCases),
        expiresAt: Date? = nil
    ) async throws -> String {
        try await issueRecord(name: name, user: user, scopes: scopes, expiresAt: expiresAt).token
    }

    /// Issues a token and returns it with its stored description.
    public func issueRecord(name: String, user: String, scopes: Set<Permission>, expiresAt: Date?) async throws -> (
        token: String, record: TokenRecord
    ) {
        let token = Self.generate()
        let stored = StoredToken(
            id: Self.newID(), hash: Self.hash(token), name: name, createdAt: Date(), expiresAt: expiresAt)
        try await access.insertToken(stored, user: user, scopes: scopes)
        let record = TokenRecord(
            id: stored.id, name: name, user: user, scopes: scopes, createdAt: stored.createdAt, expiresAt: expiresAt,
            revokedAt: nil)
        return (token, record)
    }

    /// The admin token file's content, or nil when there is none. A file that exists but cannot be read is an
    /// error: reading it as absent would issue a new owner token and overwrite the one the owner holds.
    static func readAdminToken(at path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw PaddockError(
                .unavailable,
                "cannot read the admin token at \(path); fix its permissions (the server's user must read it), or "
                    + "remove it to have a new one made", underlying: error)
        }
    }

    /// Ensures the admin token file exists and is accepted: created on first start (mode 0600), and
    /// re-registered if the database was replaced but the file kept. It is the owner's token.
    public func ensureAdminToken(at path: String) async throws -> (token: String, created: Bool) {
        if let existing = try Self.readAdminToken(at: path), !existing.isEmpty {
            if try await access.principal(tokenHash: Self.hash(existing), now: Date()) == nil {
                try await access.insertToken(
                    StoredToken(id: Self.newID(), hash: Self.hash(existing), name: "admin", createdAt: Date()),
                    user: UserAccount.ownerName, scopes: Set(Permission.allCases))
            }
            return (existing, false)
        }
        let token = try await issue(name: "admin")
        try AtomicFile.write(Array((token + "\n").utf8), to: path, mode: 0o600)
        return (token, true)
    }

    /// The caller behind a token, or nil when it is unknown, revoked or expired.
    public func authenticate(_ token: String) async throws -> Principal? {
        let (hash, now) = (Self.hash(token), Date())
        // Read before the store is: a change landing in between leaves the entry already out of date.
        let epoch = access.accessEpoch
        if let principal = known.value(hash, epoch: epoch, isCurrent: { $0.tokenExpiresAt.map { now < $0 } ?? true }) {
            return principal
        }
        guard let principal = try await access.principal(tokenHash: hash, now: now) else { return nil }
        known.remember(principal, for: hash, epoch: epoch)
        return principal
    }
}
