import Crypto
import Foundation
import Logging
import PaddockCore
import PaddockStore

/// A browser session just made: the cookie's secret (shown to the browser once, stored only as a hash), its
/// record and its CSRF token.
public struct IssuedBrowserSession: Sendable, CustomStringConvertible {
    /// The value of the session cookie. Secret.
    public let cookie: String
    public let record: BrowserSessionRecord
    public let role: Role
    /// What every state-changing request of this session must carry (`X-CSRF-Token` or the form field `_csrf`).
    public var csrfToken: String { BrowserSessions.csrfToken(cookie: cookie) }

    /// Names the session, never its cookie.
    public var description: String { "browser session \(record.id) of \(record.user)" }
}

/// A request's browser session, resolved from its cookie: who is signed in, as a `Principal` exactly like a
/// token's (their role's ceiling as scopes, their teams), named `web:<session id>` in the audit trail.
public struct BrowserSignIn: Sendable, CustomStringConvertible {
    public let record: BrowserSessionRecord
    public let principal: Principal
    /// The cookie it was resolved from, for the CSRF check. Secret.
    let cookie: String

    /// The caller every service call from this browser acts as.
    public var caller: Caller { Caller(principal) }
    public var csrfToken: String { BrowserSessions.csrfToken(cookie: cookie) }

    /// Whether `token` is this session's CSRF token (constant time).
    public func acceptsCSRF(_ token: String?) -> Bool { BrowserSessions.checkCSRF(token, cookie: cookie) }

    public var description: String { "browser session \(record.id) of \(record.user)" }
}

/// Signed-in browsers: made at sign-in, found by their cookie on each request, slid forward while used, and
/// ended at logout, after `idle` without a request, or `lifetime` after sign-in, whichever comes first.
///
/// CSRF tokens are derived, not stored: HMAC-SHA256 keyed by the cookie's secret. A page of the session can be
/// given its token; another site cannot compute it without the cookie, which it can neither read (HttpOnly)
/// nor find in the database (only its hash is there). No server key to keep, rotate or leak, and the token
/// dies with its session.
public struct BrowserSessions: Sendable {
    public struct Limits: Sendable, Equatable {
        /// A session without a request for this long is over.
        public var idle: Duration
        /// A session ends this long after sign-in however busy it is.
        public var lifetime: Duration
        /// How stale `lastSeenAt` may get before a request writes it again: one write a minute per busy browser
        /// instead of one per request.
        public var touchInterval: Duration

        public init(
            idle: Duration = .seconds(12 * 3600), lifetime: Duration = .seconds(7 * 86400),
            touchInterval: Duration = .seconds(60)
        ) {
            self.idle = idle
            self.lifetime = lifetime
            self.touchInterval = touchInterval
        }
    }

    /// The prefix of a session's audit token id: `web:<id>` says the browser did it.
    public static let tokenPrefix = "web:"

    let store: any AccountStore
    let trail: OrgTrail
    public let limits: Limits
    let clock: @Sendable () -> Date
    let logger: Logger

    public init(
        store: any AccountStore, trail: OrgTrail, limits: Limits = Limits(), logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.trail = trail
        self.limits = limits
        self.logger = logger
        self.clock = clock
    }

    /// The session id is in the audit trail; the secret is only in the cookie.
    static func newSecret() -> String { "pds_" + randomHex(32) }

    static func randomHex(_ bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    /// Starts a session for `user`, unrecorded (`signIn` records it).
    private func create(user: String, role: Role, method: String, userAgent: String?) async throws
        -> IssuedBrowserSession
    {
        let now = clock()
        let cookie = Self.newSecret()
        let record = BrowserSessionRecord(
            id: Self.randomHex(8), user: user, method: method, createdAt: now, lastSeenAt: now,
            expiresAt: now.addingTimeInterval(limits.lifetime.seconds),
            userAgent: userAgent.map { String($0.prefix(256)) })
        do {
            // Sessions past their end are useless rows; sign-ins are rare enough to sweep them here.
            _ = try await store.removeExpiredBrowserSessions(now: now)
        } catch {
            logger.warning("could not remove expired browser sessions", metadata: ["error": "\(error)"])
        }
        try await store.insertBrowserSession(record, secretHash: TokenService.hash(cookie))
        return IssuedBrowserSession(cookie: cookie, record: record, role: role)
    }

    /// Starts a browser session for `account` and records the sign-in as `kind`, naming the new session as the
    /// actor. A sign-in that cannot be recorded is undone: one the trail does not show must not stand.
    func signIn(
        account: UserAccount, method: String, kind: String, address: String?, userAgent: String?,
        fields: [String: AuditValue] = [:]
    ) async throws -> IssuedBrowserSession {
        let issued = try await create(user: account.name, role: account.role, method: method, userAgent: userAgent)
        var recorded = fields
        recorded["session"] = .string(Self.tokenPrefix + issued.record.id)
        recorded["address"] = .optional(address)
        do {
            try await trail.record(kind, recorded, actor: Self.actor(of: issued.record))
        } catch {
            await discard(issued)
            throw error
        }
        return issued
    }

    private func discard(_ issued: IssuedBrowserSession) async {
        do { _ = try await store.removeBrowserSession(id: issued.record.id) } catch {
            logger.error(
                "a browser session whose sign-in was not recorded could not be removed",
                metadata: ["browser_session.id": "\(issued.record.id)", "error": "\(error)"])
        }
    }

    /// Who the audit trail names for what a session does.
    public static func actor(of record: BrowserSessionRecord) -> AuditActor {
        AuditActor(user: record.user, token: tokenPrefix + record.id)
    }

    /// The signed-in person behind a cookie, or nil when the cookie is unknown, the session ended (logout,
    /// lifetime, idle) or its user was removed. Slides the idle deadline forward.
    public func resolve(cookie: String) async throws -> BrowserSignIn? {
        // A cookie that is not one of ours is not worth a database read.
        guard cookie.hasPrefix("pds_"), cookie.utf8.count == 68 else { return nil }
        let now = clock()
        guard let found = try await store.browserSession(secretHash: TokenService.hash(cookie), now: now) else {
            return nil
        }
        var record = found.session
        if record.lastSeenAt.addingTimeInterval(limits.idle.seconds) <= now {
            _ = try await store.removeBrowserSession(id: record.id)
            return nil
        }
        if now.timeIntervalSince(record.lastSeenAt) >= limits.touchInterval.seconds {
            try await store.touchBrowserSession(id: record.id, lastSeenAt: now)
            record.lastSeenAt = now
        }
        return BrowserSignIn(record: record, principal: Self.principal(of: found), cookie: cookie)
    }

    /// Who a browser session acts as: its user with their role's ceiling as scopes and their teams.
    static func principal(of found: ResolvedBrowserSession) -> Principal {
        Principal(
            user: found.session.user, role: found.role, tokenID: Self.tokenPrefix + found.session.id,
            scopes: found.role.ceiling, teams: found.teams)
    }

    /// Logs the browser out: the session ends at once, and the trail says so.
    public func end(_ signIn: BrowserSignIn) async throws {
        let removed = try await store.removeBrowserSession(id: signIn.record.id)
        guard removed else { return }
        try await trail.record(
            "signout", ["session": .string(Self.tokenPrefix + signIn.record.id)], actor: Self.actor(of: signIn.record))
    }

    /// Live sessions of one user, or of everyone (admins).
    public func list(user: String?, by caller: Caller) async throws -> [BrowserSessionRecord] {
        if let p = caller.principal, user != p.user { try caller.authorizeOrg(.admin) }
        return try await store.browserSessions(user: user)
    }

    private static let csrfLabel = Data("paddock csrf v1".utf8)

    /// The CSRF token of the session whose cookie is `cookie`: HMAC-SHA256(cookie, label), base64url.
    public static func csrfToken(cookie: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: csrfLabel, using: SymmetricKey(data: Data(cookie.utf8)))
        return Base64URL.encode(Array(mac))
    }

    /// Whether `token` is the CSRF token of `cookie`, compared in constant time by swift-crypto.
    public static func checkCSRF(_ token: String?, cookie: String) -> Bool {
        guard let token, let mac = Base64URL.decode(token) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(
            mac, authenticating: csrfLabel, using: SymmetricKey(data: Data(cookie.utf8)))
    }
}
