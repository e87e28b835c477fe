import Foundation
import PaddockCore

/// A person's password as stored: the output of a slow, salted key derivation and everything needed to repeat
/// it (the function's name and cost parameters), so the cost can be raised later without locking anyone out.
/// Never the password itself.
public struct PasswordCredential: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    /// The key derivation function, such as `scrypt`.
    public var kdf: String
    /// Its cost parameters in the PHC string form, such as `ln=17,r=8,p=1`.
    public var parameters: String
    public var salt: [UInt8]
    public var hash: [UInt8]
    public var updatedAt: Date

    public init(user: String, kdf: String, parameters: String, salt: [UInt8], hash: [UInt8], updatedAt: Date) {
        self.user = user
        self.kdf = kdf
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
        self.updatedAt = updatedAt
    }

    /// Says which function and cost, never the salt or the hash.
    public var description: String { "password of \(user) (\(kdf) \(parameters))" }
}

/// A signed-in browser. The cookie holds a random secret; only its hash is stored.
public struct BrowserSessionRecord: Sendable, Equatable, Codable {
    /// A short public id: audit events name the session as `web:<id>`.
    public var id: String
    public var user: String
    /// How the person signed in: `password`, `invite` or `oidc`.
    public var method: String
    public var createdAt: Date
    public var lastSeenAt: Date
    /// The absolute end; an idle session ends earlier (the service decides how long idle may be).
    public var expiresAt: Date
    public var userAgent: String?

    public init(
        id: String, user: String, method: String, createdAt: Date, lastSeenAt: Date, expiresAt: Date,
        userAgent: String?
    ) {
        self.id = id
        self.user = user
        self.method = method
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
        self.userAgent = userAgent
    }
}

/// A browser session found by its cookie, with the person behind it as of now (role and teams are read on
/// every request, so a change an admin makes applies at once).
public struct ResolvedBrowserSession: Sendable, Equatable {
    public var session: BrowserSessionRecord
    public var role: Role
    /// Team name → what the team is granted.
    public var teams: [String: Set<Permission>]

    public init(session: BrowserSessionRecord, role: Role, teams: [String: Set<Permission>]) {
        self.session = session
        self.role = role
        self.teams = teams
    }
}

/// How people sign in: password credentials, invites, browser sessions and single sign-on identities. A
/// separate protocol from `AccessStore` so each stays small; `SQLiteStore` implements both.
///
/// Failed sign-in attempts are not stored: the rate limiter keeps them in memory (see `SignInThrottle`).
public protocol AccountStore: Sendable {
    func password(user: String) async throws -> PasswordCredential?
    /// Sets or replaces the user's password; `notFound` if there is no such user.
    func setPassword(_ credential: PasswordCredential) async throws

    func insertInvite(_ invite: InviteRecord, secretHash: String) async throws
    func invite(secretHash: String) async throws -> InviteRecord?
    func invite(id: String) async throws -> InviteRecord?
    /// Every invite, newest first.
    func invites() async throws -> [InviteRecord]
    /// Marks an unused invite revoked (idempotent); `notFound` if unknown.
    func revokeInvite(id: String, now: Date) async throws -> InviteRecord
    /// In one transaction: marks the invite used — only if it is still unused, unrevoked and unexpired at `now`
    /// (`conflict` otherwise) — and creates `account` (`alreadyExists` if the name is taken), its memberships of
    /// the invite's teams and its password. All of it, or none.
    func redeemInvite(secretHash: String, account: UserAccount, password: PasswordCredential, now: Date)
        async throws -> InviteRecord

    func insertBrowserSession(_ session: BrowserSessionRecord, secretHash: String) async throws
    /// The session behind a cookie's hash that has not reached its absolute end at `now`, with its person.
    func browserSession(secretHash: String, now: Date) async throws -> ResolvedBrowserSession?
    /// The live browser session with this id.
    func browserSession(id: String, now: Date) async throws -> ResolvedBrowserSession?
    func touchBrowserSession(id: String, lastSeenAt: Date) async throws
    /// Ends one session; false if there was none.
    func removeBrowserSession(id: String) async throws -> Bool
    /// Ends every session of a user; returns how many there were.
    func removeBrowserSessions(user: String) async throws -> Int
    /// Forgets sessions whose absolute end is past.
    func removeExpiredBrowserSessions(now: Date) async throws -> Int
    /// Live sessions of one user, or of everyone; newest first.
    func browserSessions(user: String?) async throws -> [BrowserSessionRecord]

    /// The user an identity provider's subject signs in as.
    func oidcUser(issuer: String, subject: String) async throws -> String?
    /// Creates `account` and links the identity to it, in one transaction.
    func insertOIDCUser(_ account: UserAccount, issuer: String, subject: String) async throws
    /// Makes the user a member of exactly those of `teams` that exist, and of no other team; returns what
    /// changed and the names that are not teams.
    func syncMemberships(user: String, teams: Set<String>) async throws -> MembershipChange
}

/// What `syncMemberships` changed.
public struct MembershipChange: Sendable, Equatable {
    public var added: [String]
    public var removed: [String]
    /// Names asked for that are not teams here (left out).
    public var unknown: [String]

    public init(added: [String], removed: [String], unknown: [String]) {
        self.added = added
        self.removed = removed
        self.unknown = unknown
    }
}
