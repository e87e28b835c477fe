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

/// Every door records what it changes, naming who asked: each mutating route of the `/v1` API and of the
/// E2B-compatible API (its control plane, and envd's services reached through the sandbox-traffic headers) is
/// driven once, and must leave an audit event of the expected kind whose actor is the token's person — never
/// `system`. The routes are enumerated from the routers themselves, so a route added without a recipe here
/// fails the test until someone decides what it records. Afterwards every chain touched still verifies.
@Suite struct RouteAuditTests {
    /// What one request must leave: the chain it lands in and the event kind.
    struct Expectation: Sendable {
        var chain: SessionID
        var kind: String
        /// Another kind that also satisfies it (a race the route may win either way).
        var or: String? = nil
        /// Who it must name, when not the token's person (an invite's newcomer signs in as themselves).
        var actor: String? = nil
    }

    /// Drives a route; returns what it must have recorded.
    typealias Recipe = @Sendable (Drive) async throws -> Expectation

    /// The routes, fixtures and clients one recipe uses.
    struct Drive: Sendable {
        let stack: FakeStack
        let v1: any TestClientProtocol
        let e2b: any TestClientProtocol

        /// A fresh running session, made through the API so it belongs to the caller.
        func session() async throws -> SessionID {
            let response = try await send(v1, .post, "/v1/sessions", json: "{}")
            return try #require(SessionID(rawValue: try field("id", of: response)))
        }

        func send(
            _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, json: String? = nil,
            bytes: [UInt8]? = nil, headers extra: HTTPFields = [:], e2b: Bool = false
        ) async throws -> TestResponse {
            var headers = e2b ? stack.e2bAuth : stack.auth
            for field in extra { headers[field.name] = field.value }
            let body = json.map { ByteBuffer(string: $0) } ?? bytes.map { ByteBuffer(bytes: $0) }
            let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
            #expect(response.status.code < 300, "\(method) \(uri): \(response.status) \(response.text)")
            return response
        }

        /// A request to envd inside the sandbox, as the E2B SDK sends it.
        func envd(_ session: SessionID, _ path: String, json: String) async throws -> TestResponse {
            try await send(e2b, .post, path, json: json, headers: try Self.sandboxTraffic(session), e2b: true)
        }

        /// The headers that route a request to envd inside the sandbox.
        static func sandboxTraffic(_ session: SessionID, _ extra: HTTPFields = [:]) throws -> HTTPFields {
            var headers = extra
            headers[try #require(HTTPField.Name("e2b-sandbox-id"))] = session.rawValue
            headers[try #require(HTTPField.Name("e2b-sandbox-port"))] = "49983"
            return headers
        }

        func field(_ name: String, of response: TestResponse) throws -> String {
            let object = try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any]
            return try #require(object?[name] as? String, "no \(name) in \(response.text)")
        }

        /// The owner signed in with a password in a browser: the session cookie and its CSRF token.
        func browser() async throws -> (cookie: String, csrf: String) {
            _ = try await send(
                v1, .put, "/v1/users/owner/password", json: #"{"password": "\#(RouteAuditTests.ownerPassword)"}"#)
            let response = try await v1.execute(
                uri: "/auth/password", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"user": "owner", "password": "\#(RouteAuditTests.ownerPassword)"}"#))
            #expect(response.status == .ok, "\(response.text)")
            let cookie = try #require(
                response.headers[values: .setCookie].first { $0.hasPrefix("paddock_session=") }?
                    .dropFirst("paddock_session=".count).prefix { $0 != ";" })
            return (String(cookie), try field("csrf_token", of: response))
        }

        func write(_ session: SessionID, _ path: String) async throws {
            _ = try await send(v1, .put, "/v1/sessions/\(session)/files?path=\(path)", bytes: Array("x".utf8))
        }
    }

    static let v1Recipes: [String: Recipe] = [
        "POST /v1/sessions": { d in Expectation(chain: try await d.session(), kind: "session.create") },
        "DELETE /v1/sessions/{id}": { d in
            let s = try await d.session()
            _ = try await d.send(d.v1, .delete, "/v1/sessions/\(s)")
            return Expectation(chain: s, kind: "session.destroy")
        },
        "POST /v1/sessions/{id}/pause": { d in
            let s = try await d.session()
            _ = try await d.send(d.v1, .post, "/v1/sessions/\(s)/pause")
            return Expectation(chain: s, kind: "session.pause")
        },
        "POST /v1/sessions/{id}/resume": { d in
            let s = try await d.session()
            _ = try await d.send(d.v1, .post, "/v1/sessions/\(s)/pause")
            _ = try await d.send(d.v1, .post, "/v1/sessions/\(s)/resume")
            return Expectation(chain: s, kind: "session.resume")
        },
        "POST /v1/sessions/{id}/exec": { d in
            let s = try await d.session()
            _ = try await d.send(d.v1, .post, "/v1/sessions/\(s)/exec", json: #"{"cmd": ["true"]}"#)
            return Expectation(chain: s, kind: "exec")
        },
        "PUT /v1/sessions/{id}/files": { d in
            let s = try await d.session()
            try await d.write(s, "a.txt")
            return Expectation(chain: s, kind: "file.write")
        },
        "POST /v1/sessions/{id}/files/mkdir": { d in
            let s = try await d.session()
            _ = try await d.send(d.v1, .post, "/v1/sessions/\(s)/files/mkdir?path=d")
            return Expectation(chain: s, kind: "file.mkdir")
        },
        "DELETE /v1/sessions/{id}/files": { d in
            let s = try await d.session()
            try await d.write(s, "gone.txt")
            _ = try await d.send(d.v1, .delete, "/v1/sessions/\(s)/files?path=gone.txt")
            return Expectation(chain: s, kind: "file.remove")
        },
        "POST /v1/sessions/{id}/snapshots": { d in
            let s = try await d.session()
            _ = try await d.send(d.v1, .post, "/v1/sessions/\(s)/snapshots", json: #"{"name": "snap-create"}"#)
            return Expectation(chain: s, kind: "snapshot.create")
        },
        "DELETE /v1/snapshots/{snapshot}": { d in
            let s = try await d.session()
            _ = try await d.send(d.v1, .post, "/v1/sessions/\(s)/snapshots", json: #"{"name": "snap-delete"}"#)
            _ = try await d.send(d.v1, .delete, "/v1/snapshots/snap-delete")
            return Expectation(chain: s, kind: "snapshot.delete")
        },
        "POST /v1/sessions/{id}/fork": { d in
            let s = try await d.session()
            _ = try await d.send(d.v1, .post, "/v1/sessions/\(s)/fork", json: #"{"count": 1}"#)
            return Expectation(chain: s, kind: "session.fork")
        },
        "POST /v1/stop-all": { d in
            let s = try await d.session()
            _ = try await d.send(d.v1, .post, "/v1/stop-all", json: "{}")
            // Lifted at once, so the recipes after this one can still create sessions.
            _ = try await d.send(d.v1, .delete, "/v1/stop-all")
            return Expectation(chain: s, kind: "session.destroy")
        },
        "POST /v1/approvals/{approval}/approve": { d in try await answer(d, approve: true) },
        "POST /v1/approvals/{approval}/deny": { d in try await answer(d, approve: false) },
        "POST /v1/sessions/{id}/runs": { d in
            let s = try await d.session()
            let run = try await d.send(d.v1, .post, "/v1/sessions/\(s)/runs", json: #"{"prompt": "hello"}"#)
            _ = try await d.stack.configuration.runs?.wait(try d.field("id", of: run))
            return Expectation(chain: s, kind: "run.start")
        },
        "POST /v1/runs/{run}/cancel": { d in
            let s = try await d.session()
            let run = try await d.send(d.v1, .post, "/v1/sessions/\(s)/runs", json: #"{"prompt": "hello"}"#)
            let id = try d.field("id", of: run)
            // The echo agent may be done already: a finished run's cancel answers with its record, and the
            // run's end is recorded either as cancelled or as finished.
            _ = try await d.send(d.v1, .post, "/v1/runs/\(id)/cancel")
            return Expectation(chain: s, kind: "run.cancel", or: "run.finish")
        },
        "POST /v1/sessions/{id}/submit": { d in
            // A session without a repository is refused before anything happens: nothing to record. The
            // submit's own events (submit.diff, submit.check, submit.push…) are checked by RepositoryTests.
            let s = try await d.session()
            let refused = try await d.v1.execute(
                uri: "/v1/sessions/\(s)/submit", method: .post, headers: d.stack.auth, body: ByteBuffer(string: "{}"))
            #expect(refused.status == .badRequest)
            return Expectation(chain: s, kind: "session.create")
        },
        "PUT /v1/sessions/{id}/network": { d in
            // Without an egress gateway the change is refused (nothing leaves); with one, GatewaySandboxTests
            // drive it. The refusal records nothing; the event kind it records is session.network.
            let s = try await d.session()
            let refused = try await d.v1.execute(
                uri: "/v1/sessions/\(s)/network", method: .put, headers: d.stack.auth,
                body: ByteBuffer(string: #"{"allow": ["example.com"]}"#))
            #expect(refused.status == .serviceUnavailable)
            return Expectation(chain: s, kind: "session.create")
        },
        "POST /v1/reviews/{review}/approve": { d in try await decide(d, "approve", kind: "review.approve") },
        "POST /v1/reviews/{review}/reject": { d in try await decide(d, "reject", kind: "review.reject") },
        "POST /v1/reviews/{review}/merge": { d in try await decide(d, "merge", kind: "review.merge_failed") },
        // The organisation's trail.
        "POST /v1/users": { d in
            _ = try await d.send(d.v1, .post, "/v1/users", json: #"{"name": "ada", "role": "member"}"#)
            return Expectation(chain: .organization, kind: "user.create")
        },
        "DELETE /v1/users/{name}": { d in
            _ = try await d.send(d.v1, .post, "/v1/users", json: #"{"name": "bob"}"#)
            _ = try await d.send(d.v1, .delete, "/v1/users/bob")
            return Expectation(chain: .organization, kind: "user.remove")
        },
        "POST /v1/teams": { d in
            _ = try await d.send(d.v1, .post, "/v1/teams", json: #"{"name": "red"}"#)
            return Expectation(chain: .organization, kind: "team.create")
        },
        "PUT /v1/teams/{team}/members/{user}": { d in
            _ = try await d.send(d.v1, .post, "/v1/teams", json: #"{"name": "blue"}"#)
            _ = try await d.send(d.v1, .put, "/v1/teams/blue/members/owner")
            return Expectation(chain: .organization, kind: "team.member.add")
        },
        "DELETE /v1/teams/{team}/members/{user}": { d in
            _ = try await d.send(d.v1, .post, "/v1/teams", json: #"{"name": "green"}"#)
            _ = try await d.send(d.v1, .put, "/v1/teams/green/members/owner")
            _ = try await d.send(d.v1, .delete, "/v1/teams/green/members/owner")
            return Expectation(chain: .organization, kind: "team.member.remove")
        },
        "PUT /v1/teams/{team}/budget": { d in
            _ = try await d.send(d.v1, .post, "/v1/teams", json: #"{"name": "gold"}"#)
            _ = try await d.send(d.v1, .put, "/v1/teams/gold/budget", json: #"{"monthly_budget_usd": 10}"#)
            return Expectation(chain: .organization, kind: "team.budget")
        },
        "POST /v1/tokens": { d in
            _ = try await d.send(d.v1, .post, "/v1/tokens", json: #"{"name": "ci"}"#)
            return Expectation(chain: .organization, kind: "token.create")
        },
        "DELETE /v1/tokens/{id}": { d in
            let token = try await d.send(d.v1, .post, "/v1/tokens", json: #"{"name": "short"}"#)
            _ = try await d.send(d.v1, .delete, "/v1/tokens/\(try d.field("id", of: token))")
            return Expectation(chain: .organization, kind: "token.revoke")
        },
        "PUT /v1/limits": { d in
            _ = try await d.send(d.v1, .put, "/v1/limits", json: #"{"max_sessions_per_user": 50}"#)
            return Expectation(chain: .organization, kind: "limits.set")
        },
        "DELETE /v1/stop-all": { d in
            _ = try await d.send(d.v1, .post, "/v1/stop-all", json: "{}")
            _ = try await d.send(d.v1, .delete, "/v1/stop-all")
            return Expectation(chain: .organization, kind: "stop.lift")
        },
        "PUT /v1/secrets/{name}": { d in
            _ = try await d.send(
                d.v1, .put, "/v1/secrets/API_KEY", json: #"{"value": "s3cret", "hosts": ["api.example.com"]}"#)
            return Expectation(chain: .organization, kind: "secret.set")
        },
        "DELETE /v1/secrets/{name}": { d in
            _ = try await d.send(
                d.v1, .put, "/v1/secrets/OLD_KEY", json: #"{"value": "s3cret", "hosts": ["api.example.com"]}"#)
            _ = try await d.send(d.v1, .delete, "/v1/secrets/OLD_KEY")
            return Expectation(chain: .organization, kind: "secret.remove")
        },
        "PUT /v1/pools/{template}": { d in
            _ = try await d.send(d.v1, .put, "/v1/pools/host", json: #"{"size": 0}"#)
            return Expectation(chain: .organization, kind: "pool.set")
        },
        "POST /v1/templates": { d in
            _ = try await d.send(d.v1, .post, "/v1/templates", json: #"{"name": "tools", "base": "host"}"#)
            return Expectation(chain: .organization, kind: "template.build")
        },
        // Signing in (SignInTests and OIDCTests cover the rest): the owner signs in with a password in a browser.
        "POST /v1/invites": { d in
            _ = try await d.send(d.v1, .post, "/v1/invites", json: #"{"role": "viewer"}"#)
            return Expectation(chain: .organization, kind: "invite.create")
        },
        "DELETE /v1/invites/{id}": { d in
            let invite = try await d.send(d.v1, .post, "/v1/invites", json: "{}")
            _ = try await d.send(d.v1, .delete, "/v1/invites/\(try d.field("id", of: invite))")
            return Expectation(chain: .organization, kind: "invite.revoke")
        },
        "PUT /v1/users/{name}/password": { d in
            _ = try await d.send(d.v1, .put, "/v1/users/owner/password", json: #"{"password": "\#(ownerPassword)"}"#)
            return Expectation(chain: .organization, kind: "user.password")
        },
        "POST /auth/password": { d in
            _ = try await d.browser()
            return Expectation(chain: .organization, kind: "signin.password")
        },
        "POST /auth/logout": { d in
            let (cookie, csrf) = try await d.browser()
            var headers: HTTPFields = [.cookie: "paddock_session=\(cookie)"]
            headers[BrowserAuthenticator.csrfHeader] = csrf
            let out = try await d.v1.execute(uri: "/auth/logout", method: .post, headers: headers, body: nil)
            #expect(out.status == .ok, "\(out.text)")
            return Expectation(chain: .organization, kind: "signout")
        },
        "POST /auth/invite/{secret}": { d in
            let invite = try await d.send(d.v1, .post, "/v1/invites", json: #"{"user": "newcomer"}"#)
            let redeemed = try await d.v1.execute(
                uri: "/auth" + (try d.field("link", of: invite)), method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"password": "the newcomers passphrase"}"#))
            #expect(redeemed.status == .ok, "\(redeemed.text)")
            return Expectation(chain: .organization, kind: "invite.redeem", actor: "newcomer")
        },
        "POST /v1/sessions/{id}/previews/shares": { d in
            let s = try await d.session()
            _ = try await d.send(
                d.v1, .post, "/v1/sessions/\(s)/previews/shares", json: #"{"port": 3000, "audience": "org"}"#)
            return Expectation(chain: s, kind: "preview.share")
        },
        "DELETE /v1/sessions/{id}/previews/shares/{share}": { d in
            let s = try await d.session()
            let share = try await d.send(
                d.v1, .post, "/v1/sessions/\(s)/previews/shares", json: #"{"port": 3000, "audience": "org"}"#)
            _ = try await d.send(d.v1, .delete, "/v1/sessions/\(s)/previews/shares/\(try d.field("id", of: share))")
            return Expectation(chain: s, kind: "preview.revoke")
        },
        "DELETE /v1/previews/shares/{share}": { d in
            let s = try await d.session()
            let share = try await d.send(
                d.v1, .post, "/v1/sessions/\(s)/previews/shares", json: #"{"port": 3000, "audience": "org"}"#)
            _ = try await d.send(d.v1, .delete, "/v1/previews/shares/\(try d.field("id", of: share))")
            return Expectation(chain: s, kind: "preview.revoke")
        },
        "DELETE /v1/templates/{template}": { d in
            _ = try await d.send(d.v1, .post, "/v1/templates", json: #"{"name": "old", "base": "host"}"#)
            _ = try await d.send(d.v1, .delete, "/v1/templates/old")
            return Expectation(chain: .organization, kind: "template.remove")
        },
        "POST /v1/projects": { d in try await addProject(d, "added") },
        "PATCH /v1/projects/{project}": { d in
            _ = try await addProject(d, "patched")
            _ = try await d.send(d.v1, .patch, "/v1/projects/patched", json: #"{"branch": "develop"}"#)
            return Expectation(chain: .organization, kind: "project.update")
        },
        "DELETE /v1/projects/{project}": { d in
            _ = try await addProject(d, "removed")
            _ = try await d.send(d.v1, .delete, "/v1/projects/removed")
            return Expectation(chain: .organization, kind: "project.remove")
        },
        "POST /v1/projects/{project}/sessions": { d in
            let origin = try GitFixture.make("route-audit-project", files: ["README.md": "hello\n"])
            defer { origin.remove() }
            _ = try await addProject(d, "started", repository: origin.origin)
            let response = try await d.send(d.v1, .post, "/v1/projects/started/sessions", json: "{}")
            let started = try APICoding.decoder().decode(
                ProjectStartedBody.self, from: Data(response.body.readableBytesView))
            return Expectation(chain: try #require(SessionID(rawValue: started.session.id)), kind: "session.create")
        },
        "POST /v1/repos/{repo}/refresh": { d in
            let origin = try GitFixture.make("route-audit-refresh", files: ["README.md": "hello\n"])
            defer { origin.remove() }
            let id = try await cachedRepository(d, origin)
            _ = try await d.send(d.v1, .post, "/v1/repos/\(id)/refresh")
            return Expectation(chain: .organization, kind: "repos.refresh")
        },
        "DELETE /v1/repos/{repo}": { d in
            let origin = try GitFixture.make("route-audit-repo-rm", files: ["README.md": "hello\n"])
            defer { origin.remove() }
            _ = try await d.send(d.v1, .delete, "/v1/repos/\(try await cachedRepository(d, origin))")
            return Expectation(chain: .organization, kind: "repos.remove")
        },
    ]

    /// The cache id of `origin` once a session has started on it.
    static func cachedRepository(_ d: Drive, _ origin: GitFixture) async throws -> String {
        _ = try await d.send(
            d.v1, .post, "/v1/sessions", json: #"{"repo": "\#(origin.origin)", "branch": "main"}"#)
        let response = try await d.send(d.v1, .get, "/v1/repos")
        let list = try APICoding.decoder().decode(RepoListBody.self, from: Data(response.body.readableBytesView))
        return try #require(list.repos.first { $0.url == origin.origin }).id
    }

    /// A webhook automation of a new project, running as the owner; its id.
    static func addAutomation(_ d: Drive, _ project: String) async throws -> String {
        _ = try await addProject(d, project)
        let response = try await d.send(
            d.v1, .post, "/v1/automations",
            json: #"{"name": "a", "source": "webhook", "project": "\#(project)", "prompt": "do {{event.text}}"}"#)
        let body = try APICoding.decoder().decode(AutomationBody.self, from: Data(response.body.readableBytesView))
        return body.automation.id
    }

    static let automationRecipes: [String: Recipe] = [
        "POST /v1/automations": { d in
            _ = try await addAutomation(d, "auto-created")
            return Expectation(chain: .organization, kind: "automation.create")
        },
        "DELETE /v1/automations/{automation}": { d in
            let id = try await addAutomation(d, "auto-removed")
            _ = try await d.send(d.v1, .delete, "/v1/automations/\(id)")
            return Expectation(chain: .organization, kind: "automation.remove")
        },
        "POST /v1/automations/{automation}/pause": { d in
            let id = try await addAutomation(d, "auto-paused")
            _ = try await d.send(d.v1, .post, "/v1/automations/\(id)/pause", json: #"{"reason": "test"}"#)
            return Expectation(chain: .organization, kind: "automation.pause")
        },
        "POST /v1/automations/{automation}/resume": { d in
            let id = try await addAutomation(d, "auto-resumed")
            _ = try await d.send(d.v1, .post, "/v1/automations/\(id)/resume", json: "{}")
            return Expectation(chain: .organization, kind: "automation.resume")
        },
        "POST /v1/automations/{automation}/run": { d in
            let id = try await addAutomation(d, "auto-run")
            _ = try await d.send(d.v1, .post, "/v1/automations/\(id)/run", json: #"{"event": "{\"text\": \"hi\"}"}"#)
            return Expectation(chain: .organization, kind: "automation.run_now")
        },
        "POST /v1/projects/{project}/automations": { d in
            let policy =
                "version: 1\nautomations:\n  nightly:\n    source: schedule\n    schedule: '0 3 * * *'\n"
                + "    prompt: tidy up\n    run_as: owner\n"
            let body = String(
                decoding: try JSONEncoder().encode([
                    "name": "applied", "repository": "/srv/git/web.git", "policy": policy,
                ]),
                as: UTF8.self)
            _ = try await d.send(d.v1, .post, "/v1/projects", json: body)
            _ = try await d.send(d.v1, .post, "/v1/projects/applied/automations", json: "{}")
            return Expectation(chain: .organization, kind: "automation.create")
        },
        "PUT /v1/identity-links/{provider}/{external}": { d in
            _ = try await d.send(d.v1, .put, "/v1/identity-links/slack/U1", json: #"{"user": "owner"}"#)
            return Expectation(chain: .organization, kind: "automation.link")
        },
        "DELETE /v1/identity-links/{provider}/{external}": { d in
            _ = try await d.send(d.v1, .delete, "/v1/identity-links/slack/U1")
            return Expectation(chain: .organization, kind: "automation.unlink")
        },
    ]

    static func addProject(_ d: Drive, _ name: String, repository: String = "/srv/git/web.git") async throws
        -> Expectation
    {
        _ = try await d.send(
            d.v1, .post, "/v1/projects", json: #"{"name": "\#(name)", "repository": "\#(repository)"}"#)
        return Expectation(chain: .organization, kind: "project.add")
    }

    static let ownerPassword = "the owners web passphrase"

    /// An open review of a new session, decided through the route. Its merge needs an origin this stack does
    /// not have, so approve and merge also record the failed merge; the decision is recorded first.
    static func decide(_ d: Drive, _ action: String, kind: String) async throws -> Expectation {
        let s = try await d.session()
        let now = Date()
        var review = Review(
            id: Review.makeID(), session: s, team: nil, repository: "/nonexistent/origin.git", targetBranch: "main",
            branch: "paddock/x", base: String(repeating: "b", count: 40), commit: String(repeating: "a", count: 40),
            message: "a change", linesChanged: 1, filesChanged: 1, report: "{}", createdBy: "owner", createdAt: now)
        if action == "merge" { review.state = .approved }
        try await d.stack.store.insertReview(review)
        let response = try await d.v1.execute(
            uri: "/v1/reviews/\(review.id)/\(action)", method: .post, headers: d.stack.auth,
            body: ByteBuffer(string: "{}"))
        #expect(action == "reject" ? response.status == .ok : response.status.code >= 400, "\(response.text)")
        return Expectation(chain: s, kind: kind)
    }

    /// A pending approval of a new session, answered through the route.
    static func answer(_ d: Drive, approve: Bool) async throws -> Expectation {
        let s = try await d.session()
        let approvals = d.stack.sessions.guardrails.approvals
        let asking = Task {
            await approvals.request(session: s, kind: "network", subject: "example.com:443", rule: "ask")
        }
        let deadline = ContinuousClock.now + .seconds(30)
        var pending: [Approval] = []
        while pending.isEmpty, ContinuousClock.now < deadline {
            pending = try await approvals.list(session: s, includeAnswered: false)
            await Task.yield()
        }
        let id = try #require(pending.first?.id)
        _ = try await d.send(d.v1, .post, "/v1/approvals/\(id)/\(approve ? "approve" : "deny")", json: "{}")
        _ = await asking.value
        return Expectation(chain: s, kind: "approval.answer")
    }

    /// Routes whose change is not a session's and not yet recorded anywhere: each with the reason. The list
    /// is checked to name only routes that exist, so it cannot go stale silently.
    static let v1Unrecorded: [String: String] = [
        "POST /v1/automations/{automation}/test": "a dry run: it stores and starts nothing",
        "POST /hooks/{automation}":
            "signed by the automation's secret, not a token: recorded as automation.invoke (or hook_refused) by system",
        "POST /hooks/slack/events": "signed by Slack, not a token: recorded as automation.invoke naming the Slack user",
        "POST /hooks/slack/commands":
            "signed by Slack, not a token: recorded as automation.invoke naming the Slack user",
        "POST /hooks/slack/interactive":
            "signed by Slack, not a token: an Approve/Deny click is recorded as approval.answer in the session's "
            + "trail, naming the linked person (AutomationTests+SlackButtons)",
        "POST /hooks/github": "signed by GitHub, not a token: recorded as automation.invoke naming the GitHub login",
        "POST /mcp":
            "the MCP door's JSON-RPC envelope: each tool call is recorded by the service it reaches, naming the "
            + "token's person (MCPTests)",
        "DELETE /mcp": "ends the MCP connection only; the sessions it made go on",
    ]

    static let e2bRecipes: [String: Recipe] = [
        "POST /sandboxes": { d in try await e2bCreate(d, "/sandboxes") },
        "POST /v2/sandboxes": { d in try await e2bCreate(d, "/v2/sandboxes") },
        "DELETE /sandboxes/{id}": { d in
            let s = try await d.session()
            _ = try await d.send(d.e2b, .delete, "/sandboxes/\(s)", e2b: true)
            return Expectation(chain: s, kind: "session.destroy")
        },
        "POST /sandboxes/{id}/timeout": { d in
            let s = try await d.session()
            _ = try await d.send(d.e2b, .post, "/sandboxes/\(s)/timeout", json: #"{"timeout": 600}"#, e2b: true)
            return Expectation(chain: s, kind: "session.deadline")
        },
        "POST /sandboxes/{id}/refreshes": { d in
            let s = try await d.session()
            _ = try await d.send(d.e2b, .post, "/sandboxes/\(s)/timeout", json: #"{"timeout": 5}"#, e2b: true)
            _ = try await d.send(d.e2b, .post, "/sandboxes/\(s)/refreshes", json: "{}", e2b: true)
            return Expectation(chain: s, kind: "session.deadline")
        },
        "PUT /sandboxes/{id}/network": { d in
            // As PUT /v1/sessions/{id}/network: without an egress gateway the change is refused and records
            // nothing; with one it records session.network naming the caller (Tests/e2b drives that).
            let s = try await d.session()
            let refused = try await d.e2b.execute(
                uri: "/sandboxes/\(s)/network", method: .put, headers: d.stack.e2bAuth,
                body: ByteBuffer(string: #"{"allowOut": ["example.com"]}"#))
            #expect(refused.status == .serviceUnavailable)
            return Expectation(chain: s, kind: "session.create")
        },
        "POST /sandboxes/{id}/pause": { d in
            let s = try await d.session()
            _ = try await d.send(d.e2b, .post, "/sandboxes/\(s)/pause", e2b: true)
            return Expectation(chain: s, kind: "session.pause")
        },
        "POST /sandboxes/{id}/resume": { d in try await e2bResume(d, "/sandboxes/{id}/resume") },
        "POST /sandboxes/{id}/connect": { d in try await e2bResume(d, "/sandboxes/{id}/connect") },
        "POST /v2/sandboxes/{id}/connect": { d in try await e2bResume(d, "/v2/sandboxes/{id}/connect") },
        "POST /sandboxes/{id}/snapshots": { d in
            let s = try await d.session()
            _ = try await d.send(d.e2b, .post, "/sandboxes/\(s)/snapshots", json: "{}", e2b: true)
            return Expectation(chain: s, kind: "snapshot.create")
        },
        "DELETE /templates/{id}": { d in
            let s = try await d.session()
            _ = try await d.send(d.e2b, .post, "/sandboxes/\(s)/snapshots", json: #"{"name": "e2b-delete"}"#, e2b: true)
            _ = try await d.send(d.e2b, .delete, "/templates/e2b-delete", e2b: true)
            return Expectation(chain: s, kind: "snapshot.delete")
        },
        "POST /sandboxes/{id}/fork": { d in
            let s = try await d.session()
            _ = try await d.send(d.e2b, .post, "/sandboxes/\(s)/fork", json: #"{"count": 1}"#, e2b: true)
            return Expectation(chain: s, kind: "session.fork")
        },
        // Template.build: reserving, uploading a COPY step's files and starting are one build, recorded once it
        // is made (template.build in the organisation's trail, naming the caller); each recipe drives all three.
        "POST /v3/templates": { d in try await e2bTemplateBuild(d, "e2b-audit-reserve") },
        "PUT /template-files/{secret}": { d in try await e2bTemplateBuild(d, "e2b-audit-upload") },
        "POST /v2/templates/{id}/builds/{build}": { d in try await e2bTemplateBuild(d, "e2b-audit-start") },
        "POST /templates/tags": { d in
            _ = try await e2bTemplateBuild(d, "e2b-audit-tag")
            let tags = #"{"target": "e2b-audit-tag", "tags": ["stable"]}"#
            _ = try await d.send(d.e2b, .post, "/templates/tags", json: tags, e2b: true)
            return Expectation(chain: .organization, kind: "template.tag")
        },
        "DELETE /templates/tags": { d in
            _ = try await e2bTemplateBuild(d, "e2b-audit-untag")
            let tags = #"{"name": "e2b-audit-untag", "tags": ["default"]}"#
            _ = try await d.send(d.e2b, .delete, "/templates/tags", json: tags, e2b: true)
            return Expectation(chain: .organization, kind: "template.untag")
        },
    ]

    /// A template built the way E2B's SDK builds one: reserve, upload link and upload, start, follow the status.
    static func e2bTemplateBuild(_ d: Drive, _ name: String) async throws -> Expectation {
        let reserved = try await d.send(d.e2b, .post, "/v3/templates", json: #"{"name": "\#(name)"}"#, e2b: true)
        let build = try d.field("buildID", of: reserved)
        let link = try await d.send(d.e2b, .get, "/templates/\(name)/files/abc123", e2b: true)
        let url = try #require(URL(string: try d.field("url", of: link)))
        _ = try await d.e2b.execute(uri: url.path, method: .put, headers: [:], body: ByteBuffer(string: "archive"))
        let steps =
            #"{"steps": [{"type": "COPY", "args": ["a.txt", "a.txt"], "filesHash": "abc123"}, "#
            + #"{"type": "RUN", "args": ["cat a.txt"]}]}"#
        _ = try await d.send(d.e2b, .post, "/v2/templates/\(name)/builds/\(build)", json: steps, e2b: true)
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            let status = try await d.send(d.e2b, .get, "/templates/\(name)/builds/\(build)/status", e2b: true)
            let state = try d.field("status", of: status)
            if state == "ready" { break }
            #expect(state == "building", "\(status.text)")
            guard state == "building", ContinuousClock.now < deadline else { break }
            await Task.yield()
        }
        return Expectation(chain: .organization, kind: "template.build")
    }

    static func e2bCreate(_ d: Drive, _ path: String) async throws -> Expectation {
        let response = try await d.send(d.e2b, .post, path, json: #"{"templateID": "base"}"#, e2b: true)
        return Expectation(
            chain: try #require(SessionID(rawValue: try d.field("sandboxID", of: response))), kind: "session.create")
    }

    static func e2bResume(_ d: Drive, _ route: String) async throws -> Expectation {
        let s = try await d.session()
        _ = try await d.send(d.e2b, .post, "/sandboxes/\(s)/pause", e2b: true)
        let path = route.replacingOccurrences(of: "{id}", with: s.rawValue)
        _ = try await d.send(d.e2b, .post, path, json: #"{"timeout": 300}"#, e2b: true)
        return Expectation(chain: s, kind: "session.resume")
    }

    /// envd's methods that change the sandbox, reached through the sandbox-traffic headers (not the router).
    static let envdRecipes: [String: Recipe] = [
        "process.Process/Start": { d in
            let s = try await d.session()
            _ = try await d.envd(s, "/process.Process/Start", json: #"{"process": {"cmd": "true"}}"#)
            return Expectation(chain: s, kind: "exec")
        },
        "filesystem.Filesystem/MakeDir": { d in
            let s = try await d.session()
            _ = try await d.envd(s, "/filesystem.Filesystem/MakeDir", json: #"{"path": "/workspace/made"}"#)
            return Expectation(chain: s, kind: "file.mkdir")
        },
        "filesystem.Filesystem/Move": { d in
            let s = try await d.session()
            try await d.write(s, "from.txt")
            _ = try await d.envd(
                s, "/filesystem.Filesystem/Move",
                json: #"{"source": "/workspace/from.txt", "destination": "/workspace/to.txt"}"#)
            return Expectation(chain: s, kind: "file.rename")
        },
        "filesystem.Filesystem/Remove": { d in
            let s = try await d.session()
            try await d.write(s, "rm.txt")
            _ = try await d.envd(s, "/filesystem.Filesystem/Remove", json: #"{"path": "/workspace/rm.txt"}"#)
            return Expectation(chain: s, kind: "file.remove")
        },
        "POST /files": { d in
            let s = try await d.session()
            let headers = try Drive.sandboxTraffic(s, [.contentType: "application/octet-stream"])
            _ = try await d.send(
                d.e2b, .post, "/files?path=/workspace/up.txt", bytes: Array("up".utf8), headers: headers, e2b: true)
            return Expectation(chain: s, kind: "file.write")
        },
    ]

    @Test func everyMutatingRouteLeavesAnEventNamingTheCaller() async throws {
        try await FakeStack.with("route-audit", everyRoute: true) { stack, v1, e2b in
            let drive = Drive(stack: stack, v1: v1, e2b: e2b)
            let v1Routes = Self.mutating(
                buildRouter(sessions: stack.sessions, tokens: stack.tokens, configuration: stack.configuration).routes)
            let e2bRoutes = Self.mutating(
                buildE2BRouter(sessions: stack.sessions, tokens: stack.tokens, configuration: E2BConfiguration()).routes
            )
            #expect(v1Routes.count > 10 && e2bRoutes.count > 5, "the routers list their routes")
            for route in v1Routes
            where Self.v1Recipes[route] == nil && Self.automationRecipes[route] == nil
                && Self.v1Unrecorded[route] == nil
            {
                Issue.record("\(route) has no audit recipe: decide what it records and add one here")
            }
            for route in e2bRoutes where Self.e2bRecipes[route] == nil {
                Issue.record("\(route) has no audit recipe: decide what it records and add one here")
            }
            for route in Self.v1Unrecorded.keys where !v1Routes.contains(route) {
                Issue.record("\(route) is listed as unrecorded but is not a route any more")
            }
            let allV1 = Self.v1Recipes.merging(Self.automationRecipes) { a, _ in a }
            let recipes = allV1.filter { v1Routes.contains($0.key) }
                .merging(Self.e2bRecipes.filter { e2bRoutes.contains($0.key) }) { a, _ in a }
                .merging(Self.envdRecipes) { a, _ in a }
            let audit = try #require(stack.sessions.audit)
            var chains: Set<SessionID> = []
            for (route, recipe) in recipes.sorted(by: { $0.key < $1.key }) {
                let expected = try await recipe(drive)
                chains.insert(expected.chain)
                let events = try await audit.events(session: expected.chain).filter {
                    $0.kind == expected.kind || $0.kind == expected.or
                }
                #expect(!events.isEmpty, "\(route) left no \(expected.kind) event")
                for event in events {
                    #expect(
                        event.actor.user == (expected.actor ?? UserAccount.ownerName) && event.actor.token != nil,
                        "\(route): \(expected.kind) names \(event.actor), not the token's person")
                }
            }
            for chain in chains {
                let verification = try await audit.verify(session: chain)
                #expect(verification.ok, "the chain of \(chain) does not verify: \(verification.problem ?? "")")
            }
        }
    }

    static func mutating(_ routes: [Router<some RequestContext>.RouteDescription]) -> Set<String> {
        let writes: Set<HTTPRequest.Method> = [.post, .put, .delete, .patch]
        return Set(routes.filter { writes.contains($0.method) }.map { "\($0.method) \($0.path)" })
    }
}
