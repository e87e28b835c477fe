import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockCore
import PaddockSandbox
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import PaddockWeb

/// The web UI's pages in-process through the production router, for `WebPageTests` and `WebAdminPageTests`. The
/// org: admin `ada`, member `alice` in team `a`, member `bob` in team `b`, one running session per team; with
/// `services`, also a secrets vault, sign-in (for invites), agent runs (for budgets) and a fake provider (for the
/// built-in template projects name).
struct WebTestStack: Sendable {
    /// Signs a request in by a `test_user` cookie holding an API token: the pages' own sign-in is the
    /// sign-in service's, tested on its own; here only who is signed in matters.
    struct TokenCookieAuthenticator: WebAuthenticator {
        let tokens: TokenService

        func signedIn(_ request: inout Request) async throws -> SignedIn? {
            guard let cookie = request.headers[.cookie], cookie.hasPrefix("test_user=") else { return nil }
            guard let principal = try await tokens.authenticate(String(cookie.dropFirst("test_user=".count))) else {
                return nil
            }
            return SignedIn(principal: principal, csrfToken: "csrf-\(principal.user)")
        }

        // Signing in and out is the sign-in service's, tested with it (SignInTests, WebStoryTests).
        func signIn(user: String, password: String, _ request: Request, address: String?) async throws -> Cookie {
            throw PaddockError(.unauthenticated, "sign in with a test_user cookie")
        }
        func invite(_ secret: String) async throws -> InviteOffer { throw PaddockError.notFound("no invites here") }
        func redeem(_ secret: String, user: String?, password: String, _ request: Request, address: String?)
            async throws -> Cookie
        { throw PaddockError.notFound("no invites here") }
        func signOut(_ request: inout Request) async throws -> Cookie { Cookie(name: "test_user", value: "") }
        var singleSignOnPath: String? { nil }
    }

    let client: any TestClientProtocol
    let tokens: [String: String]
    let sessions: [String: SessionID]
    let service: SessionService
    let store: SQLiteStore
    let runs: RunService?
    /// Every route of the web UI ("GET /sessions/{id}"), from the router itself.
    let routes: [String]

    func get(_ path: String, as user: String?) async throws -> (HTTPResponse.Status, HTTPFields, String) {
        var headers: HTTPFields = [:]
        if let user { headers[.cookie] = "test_user=\(tokens[user] ?? "")" }
        return try await client.execute(uri: path, method: .get, headers: headers) {
            ($0.status, $0.headers, String(buffer: $0.body))
        }
    }

    func post(_ path: String, as user: String, form: String) async throws -> HTTPResponse.Status {
        try await submit(path, as: user, form: form).0
    }

    /// Posts a form and returns the status, where it redirects to, and the page it answered with.
    func submit(_ path: String, as user: String, form: String) async throws -> (HTTPResponse.Status, String?, String) {
        let headers: HTTPFields = [
            .cookie: "test_user=\(tokens[user] ?? "")", .contentType: "application/x-www-form-urlencoded",
        ]
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: form)) {
            ($0.status, $0.headers[.location], String(buffer: $0.body))
        }
    }

    static func with(services: Bool = false, _ body: @Sendable (WebTestStack) async throws -> Void) async throws {
        let dir = TestHost.makeDataDirectory("web")
        defer { TestHost.removeDataDirectory(dir) }
        let store = try SQLiteStore(path: dir + "/paddock.sqlite")
        let providers: [String: any SandboxProvider] = services ? ["local": FakeProvider()] : [:]
        let sessions = SessionService(store: store, providers: providers, logger: TestHost.quietLogger("web"))
        let tokenService = TokenService(store: store)
        let now = Date()
        var tokens: [String: String] = [:]
        for (name, role) in [("alice", Role.member), ("bob", .member), ("ada", .admin)] {
            try await store.insertUser(UserAccount(name: name, role: role, createdAt: now))
            tokens[name] = try await tokenService.issue(name: name, user: name, scopes: role.ceiling)
        }
        for (team, user) in [("a", "alice"), ("b", "bob")] {
            try await store.insertTeam(
                TeamRecord(name: team, permissions: TeamRecord.defaultPermissions, members: [], createdAt: now))
            try await store.setMembership(team: team, user: user, member: true)
        }
        var ids: [String: SessionID] = [:]
        for (label, team) in [("sa", "a"), ("sb", "b")] {
            var s = Session(
                id: .random(), state: .running, spec: SessionSpec(name: "fix the \(team) dashboard"), createdAt: now,
                updatedAt: now, expiresAt: nil)
            s.team = team
            try await store.insertSession(s)
            ids[label] = s.id
        }
        var configuration = ServerConfiguration()
        configuration.webPages = try await PageRenderer.load()
        configuration.webAuthenticator = TokenCookieAuthenticator(tokens: tokenService)
        // Runs are recorded straight into the store by the tests that need them; the service reads them.
        let runs = RunService(
            sessions: sessions, store: store, teams: store,
            configuration: RunConfiguration(
                agents: [AgentDefinition(name: "echo", kind: .command, argv: ["echo", "{prompt}"])],
                defaultAgent: "echo"),
            logger: TestHost.quietLogger("web"))
        configuration.runs = runs
        if services {
            configuration.vault = try SecretVault(store: store, keyFile: dir + "/vault.key")
            configuration.signIn = SignInService(
                store: store, trail: sessions.orgTrail,
                configuration: SignInConfiguration(passwordHashing: SignInStack.cheapHashing),
                logger: TestHost.quietLogger("web"))
        }
        let router = buildRouter(sessions: sessions, tokens: tokenService, configuration: configuration)
        let routes = router.routes.map { "\($0.method) \($0.path)" }.filter { !$0.contains(" /v1/") }
        let (issued, stored, started) = (tokens, ids, runs)
        try await Application(router: router).test(.router) { client in
            try await body(
                WebTestStack(
                    client: client, tokens: issued, sessions: stored, service: sessions, store: store, runs: started,
                    routes: routes))
        }
    }
}
