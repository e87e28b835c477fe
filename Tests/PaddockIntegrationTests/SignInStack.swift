import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import PaddockWeb
import Synchronization
import Testing

/// A clock tests move by hand, so expiry is tested without waiting.
final class TestClock: Sendable {
    private let time = Mutex(Date())
    func now() -> Date { time.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// The production `/v1` and `/auth` router over a real SQLite store, with sign-in configured, a `FakeProvider`
/// for sessions and a hand-moved clock. The org: admin `ada`, member `alice` in team `a`, each with a password.
struct SignInStack: Sendable {
    let store: SQLiteStore
    let sessions: SessionService
    let tokens: TokenService
    let signIn: SignInService
    let clock: TestClock
    let adminToken: String
    let client: any TestClientProtocol

    static let password = "correct horse battery staple"

    /// scrypt at N = 2^10: the same code as production's 2^17, without half a second per test sign-in.
    static let cheapHashing = PasswordHasher.Parameters(logN: 10, r: 8, p: 1)

    static func with(
        _ label: String, sessions limits: BrowserSessions.Limits = .init(), oidc: OIDCConfiguration? = nil,
        publicURL: String? = nil, web: Bool = false, _ body: @Sendable (SignInStack) async throws -> Void
    ) async throws {
        let dir = TestHost.makeDataDirectory(label)
        defer { TestHost.removeDataDirectory(dir) }
        let store = try SQLiteStore(path: dir + "/paddock.sqlite")
        let sessions = SessionService(
            store: store, providers: ["local": FakeProvider()], logger: TestHost.quietLogger(label))
        let tokens = TokenService(store: store)
        let clock = TestClock()
        let signIn = SignInService(
            store: store, trail: sessions.orgTrail,
            configuration: SignInConfiguration(passwordHashing: cheapHashing, sessions: limits, publicURL: publicURL),
            oidc: oidc, logger: TestHost.quietLogger(label), clock: { clock.now() })
        let adminToken = try await tokens.issue(name: "admin")
        let now = Date()
        try await store.insertUser(UserAccount(name: "ada", role: .admin, createdAt: now))
        try await store.insertUser(UserAccount(name: "alice", role: .member, createdAt: now))
        try await store.insertTeam(
            TeamRecord(name: "a", permissions: TeamRecord.defaultPermissions, members: [], createdAt: now))
        try await store.setMembership(team: "a", user: "alice", member: true)
        for user in ["ada", "alice"] {
            try await signIn.setPassword(user: user, password: password, by: .system)
        }
        var configuration = ServerConfiguration()
        configuration.signIn = signIn
        if web { configuration.webPages = try await PageRenderer.load() }
        let router = buildRouter(sessions: sessions, tokens: tokens, configuration: configuration)
        try await Application(router: router).test(.router) { client in
            try await body(
                SignInStack(
                    store: store, sessions: sessions, tokens: tokens, signIn: signIn, clock: clock,
                    adminToken: adminToken, client: client))
        }
        for session in try await sessions.list(includeEnded: false) { try await sessions.destroy(session.id) }
    }

    /// A signed-in browser: its cookie and CSRF token.
    struct Browser: Sendable {
        let cookie: String
        let csrf: String
        var cookieHeader: HTTPFields { [.cookie: "\(BrowserAuthenticator.cookieName)=\(cookie)"] }
    }

    func send(
        _ method: HTTPRequest.Method, _ uri: String, json: String? = nil, form: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if json != nil { headers[.contentType] = "application/json" }
        if form != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        let body = (json ?? form).map { ByteBuffer(string: $0) }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body)
    }

    /// Signs in with the password form of `/auth/password`; fails the test if that does not work.
    func signIn(_ user: String, password: String = SignInStack.password) async throws -> Browser {
        let response = try await send(
            .post, "/auth/password", json: #"{"user": "\#(user)", "password": "\#(password)"}"#)
        #expect(response.status == .ok, "\(response.text)")
        return Browser(
            cookie: try #require(Self.cookie(BrowserAuthenticator.cookieName, in: response)),
            csrf: try Self.field("csrf_token", of: response))
    }

    /// The `Set-Cookie` header of `name`, whole.
    static func setCookie(_ name: String, in response: TestResponse) -> String? {
        response.headers[values: .setCookie].first { $0.hasPrefix(name + "=") }
    }

    /// The value a response sets for cookie `name`.
    static func cookie(_ name: String, in response: TestResponse) -> String? {
        guard let header = setCookie(name, in: response) else { return nil }
        let value = header.dropFirst(name.count + 1).prefix { $0 != ";" }
        return value.isEmpty ? nil : String(value)
    }

    static func field(_ name: String, of response: TestResponse) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any]
        return try #require(object?[name] as? String, "no \(name) in \(response.text)")
    }

    /// The organisation trail's events of `kind`.
    func events(_ kind: String) async throws -> [AuditEvent] {
        try await #require(sessions.audit).events(session: .organization).filter { $0.kind == kind }
    }

    /// Every organisation event as JSON text, to search for secrets.
    func trailText() async throws -> String {
        let events = try await #require(sessions.audit).events(session: .organization)
        return String(decoding: try JSONEncoder().encode(events), as: UTF8.self)
    }
}
