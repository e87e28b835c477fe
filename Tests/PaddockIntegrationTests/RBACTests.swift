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

/// People, roles, tokens and the permission check on every route, in-process through the production router.
///
/// The org: team `a` (alice, member; vic, viewer), team `b` (bob), team `ro` granted only `read` (ann,
/// member), carol a member of both `a` and `b`, dan a member of no team, ada an admin of none. Sessions
/// `sa`, `sb`, `sro` belong to those teams and `sn` to none. They are stored rows with no sandbox behind
/// them (no provider is configured), so an allowed call that reaches a sandbox answers 503 — and a refused
/// one 403 or 404 — which is exactly the line this suite draws.
struct RBACTests {
    struct Org: Sendable {
        let client: any TestClientProtocol
        let tokens: [String: String]
        let sessions: [String: String]
        let store: SQLiteStore
        let tokenService: TokenService
        let service: SessionService
    }

    static func withOrg(_ body: @Sendable (Org) async throws -> Void) async throws {
        let dir = TestHost.makeDataDirectory("rbac")
        defer { TestHost.removeDataDirectory(dir) }
        let store = try SQLiteStore(path: dir + "/paddock.sqlite")
        let sessions = SessionService(store: store, providers: [:], logger: TestHost.quietLogger("rbac"))
        let tokenService = TokenService(store: store)
        let now = Date()
        var tokens = ["owner": try await tokenService.issue(name: "admin")]
        for (name, role) in [
            ("ada", Role.admin), ("alice", .member), ("vic", .viewer), ("bob", .member), ("ann", .member),
            ("carol", .member), ("dan", .member),
        ] {
            try await store.insertUser(UserAccount(name: name, role: role, createdAt: now))
            tokens[name] = try await tokenService.issue(name: name, user: name, scopes: role.ceiling)
        }
        let grants: [(String, Set<Permission>)] = [
            ("a", TeamRecord.defaultPermissions), ("b", TeamRecord.defaultPermissions), ("ro", [.read]),
        ]
        for (team, permissions) in grants {
            try await store.insertTeam(TeamRecord(name: team, permissions: permissions, members: [], createdAt: now))
        }
        for (team, user) in [("a", "alice"), ("a", "vic"), ("b", "bob"), ("ro", "ann"), ("a", "carol"), ("b", "carol")]
        {
            try await store.setMembership(team: team, user: user, member: true)
        }
        var ids: [String: String] = [:]
        for (label, team) in [("sa", "a"), ("sb", "b"), ("sro", "ro"), ("sn", nil)] as [(String, String?)] {
            var s = Session(
                id: .random(), state: .running, spec: SessionSpec(), createdAt: now, updatedAt: now, expiresAt: nil)
            s.team = team
            s.createdBy = "owner"
            try await store.insertSession(s)
            ids[label] = s.id.rawValue
        }
        let router = buildRouter(sessions: sessions, tokens: tokenService, configuration: ServerConfiguration())
        let (issued, stored) = (tokens, ids)
        try await Application(router: router).test(.router) { client in
            try await body(
                Org(
                    client: client, tokens: issued, sessions: stored, store: store, tokenService: tokenService,
                    service: sessions))
        }
    }

    /// A request as `token`; returns the status and the error code, if any.
    @discardableResult
    static func call(
        _ org: Org, _ method: HTTPRequest.Method, _ uri: String, as token: String, json: String? = nil
    ) async throws -> (status: HTTPResponse.Status, code: String?, message: String, body: ByteBuffer) {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if json != nil { headers[.contentType] = "application/json" }
        return try await org.client.execute(
            uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }
        ) { r in
            let e = try? APICoding.decoder().decode(ErrorBody.self, from: Data(r.body.readableBytesView))
            return (r.status, e?.error.code, e?.error.message ?? "", r.body)
        }
    }

    /// Every session route, with the permission it needs.
    static let routes: [(HTTPRequest.Method, String, Permission)] = [
        (.get, "", .read), (.get, "/stats", .read), (.get, "/audit", .read), (.get, "/audit/verify", .read),
        (.get, "/files?path=x", .read), (.get, "/files/stat?path=x", .read), (.get, "/files/list?path=.", .read),
        (.post, "/exec", .write), (.put, "/files?path=x", .write), (.delete, "/files?path=x", .write),
        (.post, "/files/mkdir?path=d", .write), (.post, "/pause", .write), (.post, "/resume", .write),
        (.get, "/exec/ws", .write),
    ]

    enum Outcome: String, CustomStringConvertible {
        case allowed, hidden, forbidden
        var description: String { rawValue }
    }

    static func outcome(_ status: HTTPResponse.Status) -> Outcome {
        switch status {
        case .notFound: .hidden
        case .forbidden: .forbidden
        default: .allowed
        }
    }

    /// (user, session, what they may do there): nil = they cannot even see it.
    static let matrix: [(String, String, Set<Permission>?)] = [
        ("alice", "sa", [.read, .write]), ("alice", "sb", nil), ("alice", "sro", nil), ("alice", "sn", nil),
        ("vic", "sa", [.read]), ("vic", "sb", nil),
        ("bob", "sb", [.read, .write]), ("bob", "sa", nil),
        ("ann", "sro", [.read]), ("ann", "sa", nil),
        ("carol", "sa", [.read, .write]), ("carol", "sb", [.read, .write]), ("carol", "sro", nil),
        ("dan", "sa", nil), ("dan", "sn", nil),
        ("ada", "sa", [.read, .write]), ("ada", "sb", [.read, .write]), ("ada", "sn", [.read, .write]),
        ("owner", "sro", [.read, .write]), ("owner", "sn", [.read, .write]),
    ]

    @Test func everySessionRouteChecksTheCallersTeamAndPermission() async throws {
        try await Self.withOrg { org in
            for (user, label, may) in Self.matrix {
                let id = try #require(org.sessions[label])
                for (method, suffix, needs) in Self.routes {
                    let r = try await Self.call(
                        org, method, "/v1/sessions/\(id)\(suffix)", as: try #require(org.tokens[user]),
                        json: suffix == "/exec" ? #"{"cmd": ["true"]}"# : nil)
                    let expected: Outcome =
                        may == nil ? .hidden : (may?.contains(needs) == true ? .allowed : .forbidden)
                    #expect(
                        Self.outcome(r.status) == expected,
                        "\(user) \(method) \(label)\(suffix): \(r.status) \(r.message)")
                    if expected == .hidden {
                        // Indistinguishable from a session that does not exist.
                        #expect(r.message.contains("does not exist"), "\(r.message)")
                    }
                }
            }
        }
    }

    @Test func destroyNeedsWriteOnTheSessionsTeam() async throws {
        try await Self.withOrg { org in
            let sa = try #require(org.sessions["sa"])
            for (user, status) in [("bob", HTTPResponse.Status.notFound), ("vic", .forbidden), ("ann", .notFound)] {
                #expect(
                    try await Self.call(org, .delete, "/v1/sessions/\(sa)", as: try #require(org.tokens[user])).status
                        == status)
            }
            #expect(try await org.store.session(try #require(SessionID(rawValue: sa)))?.state == .running)
            let r = try await Self.call(org, .delete, "/v1/sessions/\(sa)", as: try #require(org.tokens["alice"]))
            #expect(r.status == .ok)
            #expect(try await org.store.session(try #require(SessionID(rawValue: sa)))?.state == .destroyed)
        }
    }

    @Test func listsShowOnlyTheTeamsSessions() async throws {
        try await Self.withOrg { org in
            let expected: [String: Set<String>] = [
                "alice": ["sa"], "vic": ["sa"], "bob": ["sb"], "ann": ["sro"], "carol": ["sa", "sb"], "dan": [],
                "ada": ["sa", "sb", "sro", "sn"], "owner": ["sa", "sb", "sro", "sn"],
            ]
            for (user, labels) in expected {
                let r = try await Self.call(org, .get, "/v1/sessions", as: try #require(org.tokens[user]))
                let list = try APICoding.decoder().decode(SessionListBody.self, from: Data(r.body.readableBytesView))
                #expect(Set(list.sessions.map(\.id)) == Set(labels.compactMap { org.sessions[$0] }), "\(user)")
            }
        }
    }

    @Test func aTokenScopedBelowItsRoleIsHeldToItsScope() async throws {
        try await Self.withOrg { org in
            let readOnly = try await org.tokenService.issue(name: "ro", user: "alice", scopes: [.read])
            let sa = try #require(org.sessions["sa"])
            #expect(try await Self.call(org, .get, "/v1/sessions/\(sa)", as: readOnly).status == .ok)
            let exec = try await Self.call(
                org, .post, "/v1/sessions/\(sa)/exec", as: readOnly, json: #"{"cmd": ["true"]}"#)
            #expect(exec.status == .forbidden)
            #expect(
                exec.message.contains("scoped to read") && exec.message.contains("tokens create"), "\(exec.message)")
            // Nor can it mint a broader token.
            let mint = try await Self.call(
                org, .post, "/v1/tokens", as: readOnly, json: #"{"scopes": ["read", "write"]}"#)
            #expect(mint.status == .forbidden && mint.message.contains("cannot grant more"), "\(mint.message)")
            // The viewer's exec is refused because of the role, and says so.
            let vic = try await Self.call(
                org, .post, "/v1/sessions/\(sa)/exec", as: try #require(org.tokens["vic"]), json: #"{"cmd": ["true"]}"#)
            #expect(vic.status == .forbidden && vic.message.contains("viewer"), "\(vic.message)")
            // A team granted only read: the member's exec is refused because of the team's grant.
            let ann = try await Self.call(
                org, .post, "/v1/sessions/\(try #require(org.sessions["sro"]))/exec",
                as: try #require(org.tokens["ann"]),
                json: #"{"cmd": ["true"]}"#)
            #expect(ann.status == .forbidden && ann.message.contains("team 'ro' is granted read"), "\(ann.message)")
        }
    }

    @Test func revokedAndExpiredTokensAreRejected() async throws {
        try await Self.withOrg { org in
            let expired = try await org.tokenService.issue(
                name: "old", user: "alice", scopes: [.read], expiresAt: Date().addingTimeInterval(-1))
            #expect(try await Self.call(org, .get, "/v1/sessions", as: expired).status == .unauthorized)

            let alice = try #require(org.tokens["alice"])
            let created = try await Self.call(
                org, .post, "/v1/tokens", as: alice, json: #"{"name": "laptop", "expires_in": "1h"}"#)
            #expect(created.status == .created)
            let token = try APICoding.decoder().decode(TokenBody.self, from: Data(created.body.readableBytesView))
            #expect(token.scopes == ["read", "write", "approve", "submit"] && token.expiresAt != nil)
            let secret = try #require(token.token)
            #expect(try await Self.call(org, .get, "/v1/me", as: secret).status == .ok)
            // Listing never shows a secret.
            let list = try await Self.call(org, .get, "/v1/tokens", as: alice)
            #expect(!String(buffer: list.body).contains(secret) && String(buffer: list.body).contains(token.id))
            // bob cannot revoke alice's token (it looks like it does not exist); alice can.
            #expect(
                try await Self.call(org, .delete, "/v1/tokens/\(token.id)", as: try #require(org.tokens["bob"])).status
                    == .notFound)
            #expect(try await Self.call(org, .delete, "/v1/tokens/\(token.id)", as: alice).status == .ok)
            let after = try await Self.call(org, .get, "/v1/me", as: secret)
            #expect(after.status == .unauthorized && after.code == "unauthenticated")
            // Removing a user revokes everything they hold.
            #expect(
                try await Self.call(org, .delete, "/v1/users/alice", as: try #require(org.tokens["ada"])).status
                    == .noContent)
            #expect(try await Self.call(org, .get, "/v1/me", as: alice).status == .unauthorized)
        }
    }

    /// A token's caller is kept in memory between requests; every change to access still shows on the next one.
    @Test func aRememberedCallerFollowsEveryAccessChange() async throws {
        try await Self.withOrg { org in
            let dan = try #require(org.tokens["dan"])
            let sa = try #require(org.sessions["sa"])
            func seesA() async throws -> Bool {
                try await Self.call(org, .get, "/v1/sessions/\(sa)", as: dan).status != .notFound
            }
            #expect(try await seesA() == false)
            try await org.store.setMembership(team: "a", user: "dan", member: true)
            #expect(try await seesA())
            try await org.store.setMembership(team: "a", user: "dan", member: false)
            #expect(try await seesA() == false)
            try await org.store.setRole(user: "dan", role: .admin)
            #expect(try await seesA(), "an admin sees every team's sessions")
            try await org.store.setRole(user: "dan", role: .member)
            #expect(try await seesA() == false)

            // A token that expires stops working at its expiry, though it was just used.
            let brief = try await org.tokenService.issue(
                name: "brief", user: "dan", scopes: [.read], expiresAt: Date().addingTimeInterval(2))
            #expect(try await Self.call(org, .get, "/v1/me", as: brief).status == .ok)
            let deadline = ContinuousClock.now + .seconds(30)
            while try await Self.call(org, .get, "/v1/me", as: brief).status == .ok, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await Self.call(org, .get, "/v1/me", as: brief).status == .unauthorized)
        }
    }

    /// An MCP session an IDE keeps open acts with its token's access as it is at each call, and only for that token.
    @Test func anOpenMCPSessionFollowsAccessChangesAndItsOwnToken() async throws {
        try await Self.withOrg { org in
            let dan = try #require(org.tokens["dan"])
            let sa = try #require(org.sessions["sa"])
            func post(_ json: String, as token: String, session: String?) async throws -> (String, String?) {
                var headers: HTTPFields = [
                    .authorization: "Bearer \(token)", .contentType: "application/json",
                    .accept: "application/json, text/event-stream",
                ]
                if let session { headers[try #require(HTTPField.Name("Mcp-Session-Id"))] = session }
                return try await org.client.execute(
                    uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: json)
                ) { r in
                    (String(buffer: r.body), r.headers[try #require(HTTPField.Name("Mcp-Session-Id"))])
                }
            }
            let (_, opened) = try await post(
                #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","#
                    + #""capabilities":{},"clientInfo":{"name":"ide","version":"1"}}}"#, as: dan, session: nil)
            let session = try #require(opened, "initialize answered no MCP session id")
            _ = try await post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, as: dan, session: session)
            let list =
                #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_sessions","arguments":{}}}"#
            #expect(try await post(list, as: dan, session: session).0.contains(sa) == false)
            try await org.store.setMembership(team: "a", user: "dan", member: true)
            #expect(try await post(list, as: dan, session: session).0.contains(sa))
            try await org.store.setMembership(team: "a", user: "dan", member: false)
            #expect(try await post(list, as: dan, session: session).0.contains(sa) == false)
            // Another token, even the same user's, cannot borrow the session (its scopes may be wider).
            let other = try await org.tokenService.issue(name: "other", user: "dan", scopes: Role.member.ceiling)
            let refused = try await post(list, as: other, session: session).0
            #expect(refused.contains("another token") && !refused.contains(sa), "\(refused)")
        }
    }

    @Test func tokensNeverExceedTheirUsersRole() async throws {
        try await Self.withOrg { org in
            let alice = try #require(org.tokens["alice"])
            let admin = try await Self.call(org, .post, "/v1/tokens", as: alice, json: #"{"scopes": ["admin"]}"#)
            #expect(
                admin.status == .forbidden && admin.message.contains("more than a member may do"), "\(admin.message)")
            let forBob = try await Self.call(org, .post, "/v1/tokens", as: alice, json: #"{"user": "bob"}"#)
            #expect(forBob.status == .forbidden)
            // An admin may issue for someone else, but still not beyond that person's role.
            let ada = try #require(org.tokens["ada"])
            let vicWrite = try await Self.call(
                org, .post, "/v1/tokens", as: ada, json: #"{"user": "vic", "scopes": ["write"]}"#)
            #expect(vicWrite.status == .forbidden && vicWrite.message.contains("viewer"), "\(vicWrite.message)")
            let vicRead = try await Self.call(org, .post, "/v1/tokens", as: ada, json: #"{"user": "vic"}"#)
            #expect(vicRead.status == .created)
            let body = try APICoding.decoder().decode(TokenBody.self, from: Data(vicRead.body.readableBytesView))
            #expect(body.scopes == ["read"] && body.user == "vic")
        }
    }

    @Test func orgRoutesAreForOwnersAndAdmins() async throws {
        try await Self.withOrg { org in
            let requests: [(HTTPRequest.Method, String, String?)] = [
                (.get, "/v1/users", nil), (.post, "/v1/users", #"{"name": "eve"}"#), (.get, "/v1/teams", nil),
                (.post, "/v1/teams", #"{"name": "c"}"#), (.put, "/v1/teams/a/members/dan", nil),
                (.delete, "/v1/users/bob", nil), (.post, "/v1/stop-all", #"{"team": "b"}"#),
                (.delete, "/v1/stop-all", nil), (.put, "/v1/limits", "{}"), (.put, "/v1/pools/host", #"{"size": 0}"#),
                (.get, "/v1/some-future-route", nil),
            ]
            for (method, uri, json) in requests {
                for user in ["alice", "vic"] {
                    let r = try await Self.call(org, method, uri, as: try #require(org.tokens[user]), json: json)
                    #expect(r.status == .forbidden, "\(user) \(method) \(uri): \(r.status)")
                }
            }
            let ada = try #require(org.tokens["ada"])
            #expect(
                try await Self.call(org, .post, "/v1/users", as: ada, json: #"{"name": "eve", "role": "viewer"}"#)
                    .status == .created)
            #expect(
                try await Self.call(org, .post, "/v1/users", as: ada, json: #"{"name": "eve"}"#).code
                    == "already_exists")
            #expect(
                try await Self.call(org, .post, "/v1/users", as: ada, json: #"{"name": "o2", "role": "owner"}"#).status
                    == .badRequest)
            #expect(try await Self.call(org, .delete, "/v1/users/owner", as: ada).status == .forbidden)
            #expect(try await Self.call(org, .put, "/v1/teams/a/members/eve", as: ada).status == .ok)
            #expect(try await Self.call(org, .put, "/v1/teams/nope/members/eve", as: ada).status == .notFound)
            // An admin token scoped without admin is not an admin.
            let narrow = try await org.tokenService.issue(name: "n", user: "ada", scopes: [.read, .write])
            #expect(
                try await Self.call(org, .post, "/v1/users", as: narrow, json: #"{"name": "zed"}"#).status == .forbidden
            )
            // Everyone may see the limits and who they are.
            let me = try await Self.call(org, .get, "/v1/me", as: try #require(org.tokens["vic"]))
            let body = try APICoding.decoder().decode(MeBody.self, from: Data(me.body.readableBytesView))
            #expect(body.user == "vic" && body.role == "viewer" && body.teams == ["a": ["read"]])
        }
    }

    @Test func aNewSessionBelongsToTheCallersTeam() async throws {
        try await Self.withOrg { org in
            // No provider is configured, so a create that passes every check ends at "provider not available".
            func create(_ user: String, team: String? = nil) async throws -> (HTTPResponse.Status, String) {
                let json = team.map { #"{"team": "\#($0)"}"# } ?? "{}"
                let r = try await Self.call(org, .post, "/v1/sessions", as: try #require(org.tokens[user]), json: json)
                return (r.status, r.message)
            }
            let passed = "provider 'local' is not available"
            #expect(try await create("alice").1.contains(passed))
            #expect(try await create("alice", team: "a").1.contains(passed))
            let other = try await create("alice", team: "b")
            #expect(other.0 == .forbidden && other.1.contains("not in team 'b'"), "\(other)")
            let missing = try await create("alice", team: "zz")
            #expect(missing.0 == .notFound && missing.1.contains("teams list"))
            let viewer = try await create("vic")
            #expect(viewer.0 == .forbidden && viewer.1.contains("viewer"), "\(viewer)")
            let two = try await create("carol")
            #expect(two.0 == .badRequest && two.1.contains("pass --team"), "\(two)")
            #expect(try await create("carol", team: "b").1.contains(passed))
            let none = try await create("dan")
            #expect(none.0 == .forbidden && none.1.contains("teams members add TEAM dan"), "\(none)")
            #expect(try await create("ada").1.contains(passed))
        }
    }

    @Test func orgLimitsRefuseSessionsBeyondThemNamingTheLimit() async throws {
        try await Self.withOrg { org in
            let ada = try #require(org.tokens["ada"])
            let alice = try #require(org.tokens["alice"])
            let set = try await Self.call(
                org, .put, "/v1/limits", as: ada,
                json: #"{"max_sessions_per_team": 1, "max_sessions_per_user": 5, "max_session_lifetime": "1h"}"#)
            #expect(set.status == .ok)
            // Team a already has sa.
            let full = try await Self.call(org, .post, "/v1/sessions", as: alice, json: "{}")
            #expect(full.status == .tooManyRequests && full.code == "resource_exhausted")
            #expect(
                full.message.contains("max sessions per team") && full.message.contains("team 'a'"), "\(full.message)")
            let long = try await Self.call(org, .post, "/v1/sessions", as: ada, json: #"{"ttl": "2h"}"#)
            #expect(
                long.code == "resource_exhausted" && long.message.contains("max session lifetime of 1h"),
                "\(long.message)")
            _ = try await Self.call(org, .put, "/v1/limits", as: ada, json: #"{"max_sessions_per_user": 1}"#)
            // The owner created every stored session: the per-user limit applies to them, not to alice.
            let owner = try await Self.call(
                org, .post, "/v1/sessions", as: try #require(org.tokens["owner"]), json: "{}")
            #expect(
                owner.code == "resource_exhausted" && owner.message.contains("max sessions per user"),
                "\(owner.message)")
            #expect(try await Self.call(org, .post, "/v1/sessions", as: alice, json: "{}").message.contains("provider"))
            let bad = try await Self.call(org, .put, "/v1/limits", as: ada, json: #"{"max_sessions_per_team": 0}"#)
            #expect(bad.status == .badRequest)
        }
    }
}
