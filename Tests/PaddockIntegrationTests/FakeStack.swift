import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport

/// The `/v1` and E2B routers over a real SQLite store and a `FakeProvider`: every request goes through the same
/// routers, middleware, services and store as in production, down to the provider. No root, no sandboxes.
struct FakeStack: Sendable {
    let store: SQLiteStore
    let fake: FakeProvider
    let sessions: SessionService
    let tokens: TokenService
    let token: String
    /// What the `/v1` router was built with.
    let configuration: ServerConfiguration

    var auth: HTTPFields { [.authorization: "Bearer \(token)", .contentType: "application/json"] }
    var e2bAuth: HTTPFields {
        var fields: HTTPFields = [.contentType: "application/json"]
        if let key = HTTPField.Name("x-api-key") { fields[key] = token }
        return fields
    }

    /// With `everyRoute`, the optional parts are configured too (a secrets vault, agent runs with an `echo`
    /// agent), so every route the server can have exists.
    static func with(
        _ label: String, everyRoute: Bool = false,
        _ body: @Sendable (FakeStack, any TestClientProtocol, any TestClientProtocol) async throws -> Void
    ) async throws {
        let dir = TestHost.makeDataDirectory(label)
        defer { TestHost.removeDataDirectory(dir) }
        var storeLogger = Logger(label: "store")
        storeLogger.logLevel = .critical  // unreadable rows are logged at error; some tests make them on purpose
        let store = try SQLiteStore(path: dir + "/paddock.sqlite", logger: storeLogger)
        let fake = FakeProvider()
        let sessions = SessionService(store: store, providers: ["local": fake], logger: TestHost.quietLogger(label))
        let tokens = TokenService(store: store)
        var configuration = ServerConfiguration()
        if everyRoute {
            await sessions.setRepositories(try RepositoryClones(root: dir + "/repos"))
            configuration.vault = try SecretVault(store: store, keyFile: dir + "/vault.key")
            configuration.runs = RunService(
                sessions: sessions, store: store, teams: store,
                configuration: RunConfiguration(
                    agents: [AgentDefinition(name: "echo", kind: .command, argv: ["echo", "{prompt}"])],
                    defaultAgent: "echo"),
                logger: TestHost.quietLogger(label))
            configuration.automations = try AutomationService(
                projects: ProjectService(sessions: sessions, vault: configuration.vault, runs: configuration.runs),
                logger: TestHost.quietLogger(label))
            configuration.signIn = SignInService(
                store: store, trail: sessions.orgTrail,
                configuration: SignInConfiguration(passwordHashing: .init(logN: 10, r: 8, p: 1)),
                logger: TestHost.quietLogger(label))
            configuration.previews = try PreviewService(
                sessions: sessions, store: store, key: try PreviewService.loadKey(at: dir + "/preview.key"),
                address: PreviewAddress(), logger: TestHost.quietLogger(label))
        }
        let stack = FakeStack(
            store: store, fake: fake, sessions: sessions, tokens: tokens, token: try await tokens.issue(name: "test"),
            configuration: configuration)
        let v1 = Application(router: buildRouter(sessions: sessions, tokens: tokens, configuration: configuration))
        let e2b = Application(
            router: buildE2BRouter(sessions: sessions, tokens: tokens, configuration: E2BConfiguration()))
        let running = configuration.runs.map { RunningService($0) }
        do {
            try await v1.test(.router) { v1Client in
                try await e2b.test(.router) { e2bClient in try await body(stack, v1Client, e2bClient) }
            }
        } catch {
            try? await running?.stop()  // the test's error is the one reported
            throw error
        }
        try await running?.stop()
        // Every test leaves nothing running.
        for session in try await sessions.list(includeEnded: false) { try? await sessions.destroy(session.id) }
    }

    /// Sessions that hold (or are getting) a sandbox, and the sandboxes the provider runs, agree: no session
    /// row is left `creating` or `running` without a sandbox, and no sandbox runs without a session.
    func leftovers() async throws -> [String] {
        let live = try await sessions.list(includeEnded: false)
        let sandboxes = await fake.sandboxes
        var problems: [String] = []
        for s in live where !sandboxes.contains(s.id) {
            problems.append("session \(s.id) is \(s.state.rawValue) but has no sandbox")
        }
        for id in sandboxes where !live.contains(where: { $0.id == id }) {
            problems.append("sandbox \(id) runs without a live session")
        }
        return problems
    }

    /// A running session, created through the service.
    func session() async throws -> Session {
        try await sessions.create(SessionSpec(name: "target"))
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
}
