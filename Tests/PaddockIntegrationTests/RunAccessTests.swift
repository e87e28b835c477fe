import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// Who may start, read and cancel runs, through the production router: team `a` (alice, member; vic,
/// viewer), team `b` (bob). Runs are stored rows; no sandbox is needed to draw the line.
struct RunAccessTests {
    /// Team `a` (alice, member; vic, viewer) and team `b` (bob), an admin (ada), one stored session and one
    /// finished run per team ($1.50 for `a`, $2.50 for `b`), and each user's token.
    struct Fixture {
        let dir: String
        let store: SQLiteStore
        let sessions: SessionService
        let tokenService: TokenService
        let tokens: [String: String]
        let runIDs: [String: String]
        let sessionIDs: [String: String]

        static func make(_ label: String) async throws -> Fixture {
            let dir = TestHost.makeDataDirectory(label)
            let store = try SQLiteStore(path: dir + "/paddock.sqlite")
            let sessions = SessionService(store: store, providers: [:], logger: TestHost.quietLogger(label))
            let tokenService = TokenService(store: store)
            let now = Date()
            var tokens: [String: String] = [:]
            for (name, role) in [("alice", Role.member), ("vic", .viewer), ("bob", .member), ("ada", .admin)] {
                try await store.insertUser(UserAccount(name: name, role: role, createdAt: now))
                tokens[name] = try await tokenService.issue(name: name, user: name, scopes: role.ceiling)
            }
            for team in ["a", "b"] {
                try await store.insertTeam(
                    TeamRecord(name: team, permissions: TeamRecord.defaultPermissions, members: [], createdAt: now))
            }
            for (team, user) in [("a", "alice"), ("a", "vic"), ("b", "bob")] {
                try await store.setMembership(team: team, user: user, member: true)
            }
            var runIDs: [String: String] = [:]
            var sessionIDs: [String: String] = [:]
            for team in ["a", "b"] {
                var s = Session(
                    id: .random(), state: .running, spec: SessionSpec(), createdAt: now, updatedAt: now,
                    expiresAt: nil)
                s.team = team
                try await store.insertSession(s)
                var run = Run(
                    id: Run.makeID(), session: s.id, team: team, createdBy: "x", prompt: "p", agent: "claude-code",
                    model: nil, createdAt: now)
                run.status = .completed
                run.costUSD = team == "a" ? 1.5 : 2.5
                run.usage = TokenUsage(input: 10, output: 5)
                try await store.insertRun(run)
                try await store.appendRunEvent(RunEvent(run: run.id, seq: 1, at: now, kind: "text", text: "hello"))
                (runIDs[team], sessionIDs[team]) = (run.id, s.id.rawValue)
            }
            return Fixture(
                dir: dir, store: store, sessions: sessions, tokenService: tokenService, tokens: tokens,
                runIDs: runIDs, sessionIDs: sessionIDs)
        }

        /// Serves the production router over `runs` and hands `body` a caller: (method, uri, user, JSON body).
        func serve(
            _ runs: RunService,
            _ body:
                @Sendable (
                    _ call: (HTTPRequest.Method, String, String, String?) async throws -> (
                        HTTPResponse.Status, ByteBuffer
                    )
                ) async throws -> Void
        ) async throws {
            let router = buildRouter(
                sessions: sessions, tokens: tokenService, configuration: ServerConfiguration(runs: runs))
            let issued = tokens
            try await Application(router: router).test(.router) { client in
                try await body { method, uri, user, json in
                    var headers: HTTPFields = [.authorization: "Bearer \(issued[user] ?? "")"]
                    if json != nil { headers[.contentType] = "application/json" }
                    return try await client.execute(
                        uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }
                    ) { ($0.status, $0.body) }
                }
            }
        }
    }

    @Test func runsFollowTheirSessionsTeam() async throws {
        let f = try await Fixture.make("run-access")
        defer { TestHost.removeDataDirectory(f.dir) }
        let runs = RunService(
            sessions: f.sessions, store: f.store, configuration: RunConfiguration(),
            logger: TestHost.quietLogger("run-access"))
        let (a, b, sa) = (f.runIDs["a"] ?? "", f.runIDs["b"] ?? "", f.sessionIDs["a"] ?? "")
        try await f.serve(runs) { request in
            func call(_ method: HTTPRequest.Method, _ uri: String, _ user: String, json: String? = nil) async throws
                -> (HTTPResponse.Status, ByteBuffer)
            { try await request(method, uri, user, json) }
            let (listed, body) = try await call(.get, "/v1/runs", "alice")
            #expect(listed == .ok)
            let list = try APICoding.decoder().decode(RunListBody.self, from: Data(body.readableBytesView))
            #expect(list.runs.map(\.id) == [a])
            #expect(try await call(.get, "/v1/runs/\(a)", "alice").0 == .ok)
            #expect(try await call(.get, "/v1/runs/\(a)", "bob").0 == .notFound)
            #expect(try await call(.get, "/v1/runs/\(b)/events", "alice").0 == .notFound)
            let (status, events) = try await call(.get, "/v1/runs/\(a)/events", "vic")
            #expect(status == .ok && String(buffer: events).contains("\"text\":\"hello\""))
            // Viewers read; starting and cancelling need `write`.
            #expect(try await call(.post, "/v1/sessions/\(sa)/runs", "vic", json: #"{"prompt":"x"}"#).0 == .forbidden)
            #expect(try await call(.post, "/v1/runs/\(a)/cancel", "vic").0 == .forbidden)
            #expect(try await call(.post, "/v1/runs/\(a)/cancel", "alice").0 == .ok)
            #expect(
                try await call(.post, "/v1/sessions/\(sa)/runs", "alice", json: #"{"prompt":" "}"#).0 == .badRequest)
            let (_, usage) = try await call(.get, "/v1/usage?since=7d", "alice")
            let report = try APICoding.decoder().decode(UsageReport.self, from: Data(usage.readableBytesView))
            #expect(report.runs == 1 && report.costUSD == 1.5 && report.teams.map(\.key) == ["a"])
            #expect(try await call(.get, "/v1/usage?team=a", "bob").0 == .notFound)
            #expect(try await call(.get, "/v1/usage?since=yesterday", "bob").0 == .badRequest)
        }
    }

    /// Admins set a team's monthly budget through the API; the team's members read it with this month's spending;
    /// a team past its own budget cannot start runs, and clearing it falls back to the server's default.
    @Test func teamBudgetsAreSetByAdminsAndReadByMembers() async throws {
        let f = try await Fixture.make("run-budget")
        defer { TestHost.removeDataDirectory(f.dir) }
        let runs = RunService(
            sessions: f.sessions, store: f.store, teams: f.store,
            configuration: RunConfiguration(defaultTeamBudget: 10),
            logger: TestHost.quietLogger("run-budget"))
        try await f.serve(runs) { call in
            func status(_ body: ByteBuffer) throws -> TeamBudgetStatus {
                try APICoding.decoder().decode(TeamBudgetStatus.self, from: Data(body.readableBytesView))
            }
            let (read, initial) = try await call(.get, "/v1/teams/a/budget", "alice", nil)
            #expect(read == .ok)
            let inherited = try status(initial)
            #expect(
                inherited.source == .server && inherited.monthlyBudgetUSD == 10 && inherited.spentThisMonthUSD == 1.5)
            // Another team's members cannot read it; members cannot set it.
            #expect(try await call(.get, "/v1/teams/a/budget", "bob", nil).0 == .forbidden)
            #expect(try await call(.put, "/v1/teams/a/budget", "alice", #"{"monthlyBudgetUsd":100}"#).0 == .forbidden)

            let (set, own) = try await call(.put, "/v1/teams/a/budget", "ada", #"{"monthlyBudgetUsd":1}"#)
            let owned = try status(own)
            #expect(set == .ok && owned.source == .team && owned.monthlyBudgetUSD == 1)
            let refused = await #expect(throws: PaddockError.self) { try await runs.checkBudget(team: "a") }
            #expect(refused?.code == .permissionDenied)
            #expect(refused?.message.contains("paddock teams budget a --monthly") == true, "\(refused?.message ?? "")")
            // Team b keeps the server's default and is under it.
            try await runs.checkBudget(team: "b")
            let (_, teams) = try await call(.get, "/v1/teams", "ada", nil)
            let listed = try APICoding.decoder().decode(TeamListBody.self, from: Data(teams.readableBytesView))
            #expect(listed.teams.map(\.monthlyBudgetUSD) == [1, nil])

            #expect(try await call(.put, "/v1/teams/a/budget", "ada", #"{"monthlyBudgetUsd":-3}"#).0 == .badRequest)
            #expect(try await call(.put, "/v1/teams/zz/budget", "ada", #"{"monthlyBudgetUsd":3}"#).0 == .notFound)
            let (_, cleared) = try await call(.put, "/v1/teams/a/budget", "ada", #"{"monthlyBudgetUsd":null}"#)
            #expect(try status(cleared).source == .server)
            try await runs.checkBudget(team: "a")
        }
    }

    @Test func runsThatWereGoingWhenTheServerStoppedEndFailed() async throws {
        let dir = TestHost.makeDataDirectory("run-recover")
        defer { TestHost.removeDataDirectory(dir) }
        let store = try SQLiteStore(path: dir + "/paddock.sqlite")
        let sessions = SessionService(store: store, providers: [:], logger: TestHost.quietLogger("run-recover"))
        var going = Run(
            id: Run.makeID(), session: .random(), team: nil, createdBy: nil, prompt: "p", agent: "claude-code",
            model: nil, createdAt: Date())
        going.status = .awaitingApproval
        var done = going
        done.id = Run.makeID()
        done.status = .completed
        try await store.insertRun(going)
        try await store.insertRun(done)
        let runs = RunService(
            sessions: sessions, store: store, configuration: RunConfiguration(),
            logger: TestHost.quietLogger("run-recover"))
        try await runs.recover()
        let recovered = try await runs.get(going.id)
        #expect(recovered.status == .failed && recovered.reason?.contains("server stopped") == true)
        #expect(try await runs.get(done.id).status == .completed)
        await #expect(throws: PaddockError.self) { try await runs.get("run_missing") }
    }
}
