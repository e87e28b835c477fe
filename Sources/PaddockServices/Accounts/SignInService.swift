import AsyncHTTPClient
import Foundation
import Logging
import PaddockCore
import PaddockStore
import Synchronization

/// How people sign in, tuned by the server's operator.
public struct SignInConfiguration: Sendable {
    /// The cost of new password hashes.
    public var passwordHashing: PasswordHasher.Parameters
    /// Password hashes computed at once, at most (each takes `128·N·r` bytes).
    public var hashingConcurrency: Int
    public var sessions: BrowserSessions.Limits
    public var throttle: SignInThrottle.Limits
    /// How long an invite lasts when its maker does not say.
    public var inviteTTL: Duration
    /// Where the server is reached from browsers (`https://paddock.example.com`): invite links and the OIDC
    /// redirect URI are made from it. nil: links are paths only.
    public var publicURL: String?

    public init(
        passwordHashing: PasswordHasher.Parameters = .recommended, hashingConcurrency: Int = 2,
        sessions: BrowserSessions.Limits = .init(), throttle: SignInThrottle.Limits = .init(),
        inviteTTL: Duration = .seconds(72 * 3600), publicURL: String? = nil
    ) {
        self.passwordHashing = passwordHashing
        self.hashingConcurrency = hashingConcurrency
        self.sessions = sessions
        self.throttle = throttle
        self.inviteTTL = inviteTTL
        self.publicURL = publicURL
    }
}

/// People signing in to the web UI: with a password, an invite, or single sign-on. Every sign-in, failure and
/// sign-out is recorded in the organisation's trail; password attempts are rate-limited per user name and per
/// client address; a signed-in browser is a `BrowserSignIn` whose `caller` acts in every other service exactly
/// like a token's, so what the UI does is audited with the person as actor.
public struct SignInService: Sendable {
    public let sessions: BrowserSessions
    public let invites: InviteService
    /// Single sign-on; nil unless the server was given an issuer.
    public let oidc: OIDCSignIn?
    public let configuration: SignInConfiguration
    let hasher: PasswordHasher
    let store: any AccountStore & AccessStore
    let trail: OrgTrail
    let attempts: SignInAttempts
    let clock: @Sendable () -> Date
    let logger: Logger

    public init(
        store: any AccountStore & AccessStore, trail: OrgTrail, configuration: SignInConfiguration = .init(),
        oidc: OIDCConfiguration? = nil, httpClient: HTTPClient = .shared,
        logger: Logger = Logger(label: "paddock.signin"), clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.trail = trail
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        hasher = PasswordHasher(
            parameters: configuration.passwordHashing, concurrency: configuration.hashingConcurrency)
        attempts = SignInAttempts(SignInThrottle(limits: configuration.throttle))
        sessions = BrowserSessions(
            store: store, trail: trail, limits: configuration.sessions, logger: logger, clock: clock)
        invites = InviteService(
            store: store, trail: trail, hasher: hasher, sessions: sessions, attempts: attempts,
            defaultTTL: configuration.inviteTTL, publicURL: configuration.publicURL, clock: clock)
        let sessions = sessions
        self.oidc = oidc.map {
            OIDCSignIn(
                configuration: $0, store: store, sessions: sessions, trail: trail, httpClient: httpClient,
                logger: logger, clock: clock)
        }
    }

    /// The message of every wrong name or password alike, so the answer does not tell which names exist.
    static let wrongCredentials = "the user name or password is wrong; check both and try again"

    /// Signs `user` in with `password` from `address` (the client's IP, for the per-address limit) and starts a
    /// browser session. Refused with `unauthenticated` for a wrong name or password (recorded as
    /// `signin.failed` with the reason, never the password), `resourceExhausted` once too many attempts failed
    /// (the message says when to try again; `retryAfter` gives the wait).
    public func signIn(user rawUser: String, password: String, address: String?, userAgent: String?) async throws
        -> IssuedBrowserSession
    {
        let user = rawUser.trimmingCharacters(in: .whitespaces).lowercased()
        let keys = Self.keys(user: user, address: address)
        let now = clock()
        if case .refused(let until, let first) = attempts.withLock({ $0.attempt(keys, now: now) }) {
            if first {
                try await recordFailure(
                    user: try await store.user(user) == nil ? nil : user, reason: "rate_limited", address: address)
            }
            throw Self.tooMany(until: until, now: now)
        }
        guard password.utf8.count <= PasswordHasher.maxPasswordBytes else {
            throw PaddockError.invalidArgument(
                "the password is too long; use at most \(PasswordHasher.maxPasswordBytes) bytes")
        }
        guard user.utf8.count <= 64, let account = try await store.user(user) else {
            try await hasher.burn(password)
            try await failed(user: nil, reason: "unknown_user", address: address)
        }
        guard let credential = try await store.password(user: user) else {
            try await hasher.burn(password)
            try await failed(user: user, reason: "no_password", address: address)
        }
        guard try await hasher.verify(password, against: credential) else {
            try await failed(user: user, reason: "wrong_password", address: address)
        }
        attempts.withLock { $0.recordSuccess(user: user, address: address ?? "unknown") }
        if hasher.needsRehash(credential) {
            // The stored cost is below today's: the password is at hand only now, so strengthen it now. A
            // failure leaves the old (still valid) hash, and the next sign-in tries again.
            do {
                try await store.setPassword(try await hasher.credential(user: user, password: password, now: now))
            } catch {
                logger.warning(
                    "could not strengthen a stored password hash", metadata: ["user": "\(user)", "error": "\(error)"])
            }
        }
        return try await sessions.signIn(
            account: account, method: "password", kind: "signin.password", address: address, userAgent: userAgent)
    }

    /// How long until `user` or `address` may try again, or nil if they may now.
    public func retryAfter(user: String, address: String?) -> Duration? {
        let now = clock()
        let keys = Self.keys(user: user.trimmingCharacters(in: .whitespaces).lowercased(), address: address)
        guard let until = attempts.withLock({ $0.retryAt(keys, now: now) }) else { return nil }
        return .seconds(max(1, Int(until.timeIntervalSince(now).rounded(.up))))
    }

    /// Sets a user's password (admins; the CLI's `paddock users set-password`). Their browser sessions end, so
    /// whoever knew the old password is signed out.
    public func setPassword(user: String, password: String, by caller: Caller) async throws {
        try caller.authorizeOrg(.admin)
        try PasswordHasher.checkStrength(password)
        guard try await store.user(user) != nil else {
            throw PaddockError.notFound("no user named '\(user)'; `paddock users list` shows them")
        }
        try await store.setPassword(try await hasher.credential(user: user, password: password, now: clock()))
        let ended = try await store.removeBrowserSessions(user: user)
        try await trail.record(
            "user.password", ["user": .string(user), "sessions_ended": .int(Int64(ended))], by: caller)
    }

    /// The attempt was counted as failed already (`SignInThrottle.attempt`); it only needs recording.
    private func failed(user: String?, reason: String, address: String?) async throws -> Never {
        try await recordFailure(user: user, reason: reason, address: address)
        throw PaddockError(.unauthenticated, Self.wrongCredentials)
    }

    /// `user` only when it names an existing account: a name that is not one may be a password typed into the
    /// wrong field, and the trail must never hold one.
    func recordFailure(user: String?, reason: String, address: String?, method: String = "password") async throws {
        try await trail.record(
            "signin.failed",
            [
                "user": .optional(user), "reason": .string(reason), "method": .string(method),
                "address": .optional(address),
            ],
            actor: OrgTrail.anonymousSignIn)
    }

    static func keys(user: String, address: String?) -> [SignInThrottle.Key] {
        [.user(String(user.prefix(64))), .address(address ?? "unknown")]
    }

    static func tooMany(until: Date, now: Date) -> PaddockError {
        let wait = Duration.seconds(max(1, Int(until.timeIntervalSince(now).rounded(.up))))
        return PaddockError(
            .resourceExhausted,
            "too many failed sign-ins; try again in \(DurationText.format(wait)) (at "
                + "\(ISO8601DateFormatter().string(from: until))), or ask an admin to set a new password")
    }
}

/// The rate limiter's state behind a lock, shared by every copy of the service.
final class SignInAttempts: Sendable {
    private let state: Mutex<SignInThrottle>

    init(_ throttle: SignInThrottle) { state = Mutex(throttle) }

    func withLock<T: Sendable>(_ body: (inout SignInThrottle) -> T) -> T { state.withLock { body(&$0) } }
}
