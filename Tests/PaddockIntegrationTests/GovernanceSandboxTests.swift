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

/// Audit trail, emergency stop and org limits on real sandboxes, through the production router.
@Suite(.needsSandboxes)
struct GovernanceSandboxTests {
    struct App: Sendable {
        let client: any TestClientProtocol
        let owner: String
        let alice: String
    }

    /// The stack's store with team `a` (alice) and `b`, and a router over `sessions`.
    static func withApp(
        _ stack: TestStack, sessions: SessionService? = nil, _ body: @Sendable (App) async throws -> Void
    ) async throws {
        let tokens = TokenService(store: stack.store)
        if try await stack.store.user("alice") == nil {
            try await stack.store.insertUser(UserAccount(name: "alice", role: .member, createdAt: Date()))
            for team in ["a", "b"] {
                try await stack.store.insertTeam(
                    TeamRecord(name: team, permissions: TeamRecord.defaultPermissions, members: [], createdAt: Date()))
            }
            try await stack.store.setMembership(team: "a", user: "alice", member: true)
        }
        let owner = try await tokens.issue(name: "admin")
        let alice = try await tokens.issue(name: "alice", user: "alice", scopes: Role.member.ceiling)
        let router = buildRouter(
            sessions: sessions ?? stack.sessions, tokens: tokens, configuration: ServerConfiguration())
        try await Application(router: router).test(.router) { client in
            try await body(App(client: client, owner: owner, alice: alice))
        }
    }

    static func call(
        _ app: App, _ method: HTTPRequest.Method, _ uri: String, as token: String, body: ByteBuffer? = nil,
        json: Bool = true
    ) async throws -> (status: HTTPResponse.Status, body: ByteBuffer, message: String) {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if body != nil { headers[.contentType] = json ? "application/json" : "application/octet-stream" }
        return try await app.client.execute(uri: uri, method: method, headers: headers, body: body) { r in
            let e = try? APICoding.decoder().decode(ErrorBody.self, from: Data(r.body.readableBytesView))
            return (r.status, r.body, e?.error.message ?? "")
        }
    }

    static func create(_ app: App, as token: String, team: String? = nil, env: [String: String]? = nil) async throws
        -> (HTTPResponse.Status, SessionBody?, String)
    {
        var body = CreateSessionBody(env: env, ttl: "10m")
        body.team = team
        let r = try await call(
            app, .post, "/v1/sessions", as: token, body: ByteBuffer(bytes: try APICoding.encoder().encode(body)))
        return (
            r.status, try? APICoding.decoder().decode(SessionBody.self, from: Data(r.body.readableBytesView)), r.message
        )
    }

    static func events(_ app: App, _ id: String, as token: String) async throws -> [AuditEvent] {
        let r = try await call(app, .get, "/v1/sessions/\(id)/audit", as: token)
        return try Data(r.body.readableBytesView).split(separator: 0x0A).map {
            try AuditEvent.decode(canonical: Array($0))
        }
    }

    @Test func theTrailRecordsLifecycleExecsAndFilesWithWhoDidItAndNoSecretValues() async throws {
        try await withTestStack("audit-api") { stack in
            try await Self.withApp(stack) { app in
                let (status, created, message) = try await Self.create(
                    app, as: app.alice, env: ["SECRET_TOKEN": "value-never-recorded"])
                let session = try #require(created, "\(status) \(message)")
                #expect(session.team == "a" && session.createdBy == "alice")
                let me = try APICoding.decoder().decode(
                    MeBody.self,
                    from: Data(try await Self.call(app, .get, "/v1/me", as: app.alice).body.readableBytesView))

                let exec = try await Self.call(
                    app, .post, "/v1/sessions/\(session.id)/exec", as: app.alice,
                    body: ByteBuffer(
                        bytes: try APICoding.encoder().encode(
                            ExecBody(cmd: ["sh", "-c", "echo hi; exit 3"], env: ["API_KEY": "another-secret-value"]))))
                #expect(String(buffer: exec.body).contains(#""code":3"#))
                // The exec's record is durable before its exit reached the client: it is there now.
                let afterExec = try await Self.events(app, session.id, as: app.alice)
                #expect(afterExec.last?.kind == "exec")

                let upload = try await Self.call(
                    app, .put, "/v1/sessions/\(session.id)/files?path=notes.txt", as: app.alice,
                    body: ByteBuffer(string: "hello"), json: false)
                #expect(upload.status == .created)
                #expect(
                    try await Self.call(app, .delete, "/v1/sessions/\(session.id)/files?path=notes.txt", as: app.alice)
                        .status == .noContent)
                #expect(
                    try await Self.call(app, .post, "/v1/sessions/\(session.id)/pause", as: app.alice).status == .ok)
                #expect(
                    try await Self.call(app, .post, "/v1/sessions/\(session.id)/resume", as: app.alice).status == .ok)
                #expect(try await Self.call(app, .delete, "/v1/sessions/\(session.id)", as: app.owner).status == .ok)

                let events = try await Self.events(app, session.id, as: app.alice)
                #expect(
                    events.map(\.kind) == [
                        "session.create", "exec", "file.write", "file.remove", "session.pause", "session.resume",
                        "session.destroy",
                    ])
                let create = try #require(events.first)
                #expect(create.fields["env_keys"] == .strings(["SECRET_TOKEN"]) && create.fields["team"] == "a")
                let execEvent = try #require(events.first { $0.kind == "exec" })
                #expect(execEvent.fields["argv"] == .strings(["sh", "-c", "echo hi; exit 3"]))
                #expect(execEvent.fields["exit"] == 3 && execEvent.fields["cwd"] == "/workspace")
                #expect(execEvent.fields["user"] == "user" && execEvent.fields["env_keys"] == .strings(["API_KEY"]))
                if case .int(let pid) = execEvent.fields["pid"] { #expect(pid > 0) } else { Issue.record("no pid") }
                if case .int(let ms) = execEvent.fields["ms"] { #expect(ms >= 0) } else { Issue.record("no duration") }
                #expect(execEvent.actor == AuditActor(user: "alice", token: me.tokenId))
                let write = try #require(events.first { $0.kind == "file.write" })
                #expect(write.fields["path"] == "/workspace/notes.txt" && write.fields["bytes"] == 5)
                #expect(events.last?.actor.user == "owner")
                let raw = String(
                    buffer: try await Self.call(app, .get, "/v1/sessions/\(session.id)/audit", as: app.alice).body)
                #expect(!raw.contains("value-never-recorded") && !raw.contains("another-secret-value"))

                let verify = try await Self.call(app, .get, "/v1/sessions/\(session.id)/audit/verify", as: app.alice)
                let result = try APICoding.decoder().decode(
                    AuditVerification.self, from: Data(verify.body.readableBytesView))
                #expect(result.ok && result.events == 7)
            }
        }
    }

    @Test func stopAllFreezesAndDestroysTheTeamsSessionsAndRefusesNewOnesUntilLifted() async throws {
        try await withTestStack("stop-all") { stack in
            try await Self.withApp(stack) { app in
                var teamA: [String] = []
                for _ in 0..<2 {
                    teamA.append(try #require(try await Self.create(app, as: app.owner, team: "a").1).id)
                }
                let teamB = try #require(try await Self.create(app, as: app.owner, team: "b").1).id
                let stop = try await Self.call(
                    app, .post, "/v1/stop-all", as: app.owner, body: ByteBuffer(string: #"{"team": "a"}"#))
                let report = try APICoding.decoder().decode(
                    EmergencyStopService.StopAllReport.self, from: Data(stop.body.readableBytesView))
                #expect(Set(report.stopped) == Set(teamA) && report.failed.isEmpty)
                for id in teamA {
                    #expect(try await stack.sessions.get(try #require(SessionID(rawValue: id))).state == .destroyed)
                    // Frozen first, then destroyed, by the admin who pulled the stop.
                    let kinds = try await Self.events(app, id, as: app.owner).map(\.kind)
                    #expect(kinds.suffix(2) == ["session.pause", "session.destroy"], "\(kinds)")
                }
                #expect(try await stack.sessions.get(try #require(SessionID(rawValue: teamB))).state == .running)
                let refused = try await Self.create(app, as: app.alice)
                #expect(
                    refused.0 == .serviceUnavailable && refused.2.contains("emergency stop")
                        && refused.2.contains("--lift"))
                #expect(try await Self.create(app, as: app.owner, team: "b").0 == .created)
            }
            // A restarted server (a new service over the same database) still refuses.
            let restarted = SessionService(
                store: stack.store, providers: ["local": stack.provider], logger: TestHost.quietLogger("restart"))
            try await Self.withApp(stack, sessions: restarted) { app in
                #expect(try await Self.create(app, as: app.alice).0 == .serviceUnavailable)
                let lift = try await Self.call(app, .delete, "/v1/stop-all?team=a", as: app.owner)
                #expect(String(buffer: lift.body).contains(#""lifted":1"#))
                let again = try await Self.create(app, as: app.alice)
                #expect(again.0 == .created, "\(again.2)")
                // Everything, everywhere.
                let all = try await Self.call(app, .post, "/v1/stop-all", as: app.owner, body: ByteBuffer(string: "{}"))
                let report = try APICoding.decoder().decode(
                    EmergencyStopService.StopAllReport.self, from: Data(all.body.readableBytesView))
                #expect(report.stopped.count == 3 && report.failed.isEmpty, "\(report)")
                #expect(try await stack.sessions.list(includeEnded: false).isEmpty)
                #expect(try await Self.create(app, as: app.owner, team: "b").0 == .serviceUnavailable)
                _ = try await Self.call(app, .delete, "/v1/stop-all", as: app.owner)
            }
        }
    }

    @Test func perTeamLimitHoldsOnRealSessions() async throws {
        try await withTestStack("org-limits") { stack in
            try await Self.withApp(stack) { app in
                try await stack.store.setOrgLimits(OrgLimits(maxSessionsPerTeam: 1, maxLifetimeSeconds: 600))
                let first = try await Self.create(app, as: app.alice)
                let id = try #require(first.1?.id, "\(first.2)")
                let second = try await Self.create(app, as: app.alice)
                #expect(second.0 == .tooManyRequests && second.2.contains("max sessions per team"), "\(second.2)")
                #expect(try await Self.call(app, .delete, "/v1/sessions/\(id)", as: app.alice).status == .ok)
                let third = try await Self.create(app, as: app.alice)
                #expect(third.0 == .created, "\(third.2)")
            }
        }
    }
}
