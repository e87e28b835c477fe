import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockCore
import PaddockServer
import PaddockStore
import PaddockTestSupport
import Testing

/// Who may start, read and cancel runs, through the production router: team `a` (alice, member; vic,
/// viewer), team `b` (bob). Runs are stored rows; no sandbox is needed to draw the line.
struct RunAccessTests {
    @Test func runsFollowTheirSessionsTeam() async throws {
        let dir = TestHost.makeDataDirectory("run-access")
        defer { TestHost.removeDataDirectory(dir) }
        let store = try SQLiteStore(path: dir + "/paddock.sqlite")
        let sessions = SessionService(store: store, providers: [:], logger: TestHost.quietLogger("run-access"))
        let tokenService = TokenService(store: store)
        let now = Date()
        var tokens: [String: String] = [:]
        for (name, role) in [("alice", Role.member), ("vic", .viewer), ("bob", .member)] {
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
                id: .random(), state: .running, spec: SessionSpec(), createdAt: now, updatedAt: now, expiresAt: nil)
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
        let runs = RunService(
            sessions: sessions, store: store, configuration: RunConfiguration(),
            logger: TestHost.quietLogger("run-access"))
        let router = buildRouter(
            sessions: sessions, tokens: tokenService, configuration: ServerConfiguration(runs: runs))
        let (a, b, sa) = (runIDs["a"] ?? "", runIDs["b"] ?? "", sessionIDs["a"] ?? "")
        let issued = tokens
        try await Application(router: router).test(.router) { client in
            func call(_ method: HTTPRequest.Method, _ uri: String, _ user: String, json: String? = nil) async throws
                -> (HTTPResponse.Status, ByteBuffer)
            {
                var headers: HTTPFields = [.authorization: "Bearer \(issued[user] ?? "")"]
                if json != nil { headers[.contentType] = "application/json" }
                return try await client.execute(
                    uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }
                ) { ($0.status, $0.body) }
            }
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
