import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PaddockCore
import PaddockGateway
import PaddockHost
import PaddockServer
import PaddockStore
import PaddockTestSupport
import Synchronization
import Testing

@testable import PaddockServices

/// Slack and GitHub: their signatures checked against the examples in their documentation, and the whole path
/// through the real `/hooks` routes — a signed mention starts work as the linked person, a retry starts nothing,
/// a reply in the thread continues the session, an unlinked person is told whom to ask, and the replies reach a
/// loopback stand-in for Slack's and GitHub's APIs exactly as they would the real ones (URL, token placement,
/// JSON).
extension AutomationTests {
    /// Slack's and GitHub's APIs on 127.0.0.1: every request recorded; `chat.postMessage` answers `ok`, a pull
    /// request has head branch `feature-x`, comments are created.
    final class StandIn: Sendable {
        struct Seen: Sendable {
            var method: String
            var path: String
            var headers: [String: String]
            var body: String
        }
        final class Log: Sendable {
            let items = Mutex<[Seen]>([])
        }
        let log = Log()
        let port: Int
        let task: Task<Void, any Error>

        init() async throws {
            let log = self.log
            let router = Router()
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
                let body = try await request.body.collect(upTo: 1 << 20)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                log.items.withLock {
                    $0.append(
                        Seen(
                            method: request.method.rawValue, path: request.uri.path, headers: headers,
                            body: String(buffer: body)))
                }
                let path = request.uri.path
                // users.info: UMAIL's address is confirmed by Slack, UUNCONFIRMED's is not.
                let confirmed = request.uri.query?.contains("user=UMAIL") == true
                let profile =
                    #"{"ok":true,"user":{"id":"U","is_email_confirmed":\#(confirmed),"#
                    + #""profile":{"email":"Alice@Example.com"}}}"#
                let answer =
                    path.hasSuffix("/users.info")
                    ? profile
                    : path.hasSuffix("/chat.postMessage") || path.hasSuffix("/chat.update")
                        ? #"{"ok":true,"ts":"1700000000.000200"}"#
                        : path.hasSuffix("/pulls/7")
                            ? #"{"number":7,"head":{"ref":"feature-x","repo":{"full_name":"acme/web"}}}"# : #"{"id":1}"#
                return Response(
                    status: path.hasSuffix("/comments") || path.hasSuffix("/replies") ? .created : .ok,
                    headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: answer)))
            }
            router.post("/api/chat.postMessage", use: handler)
            router.post("/api/chat.update", use: handler)
            router.get("/api/users.info", use: handler)
            // A slash command's or a click's response_url (hooks.slack.com/commands/… in production).
            router.post("/slack-hooks/commands/T1/1234/secretpart", use: handler)
            router.post("/slack-hooks/actions/T1/5678/secretpart", use: handler)
            router.get("/github/repos/acme/web/pulls/7", use: handler)
            router.post("/github/repos/acme/web/issues/7/comments", use: handler)
            router.post("/github/repos/acme/web/pulls/7/comments/4242/replies", use: handler)
            (port, task) = try await LoopbackServer.start(
                router: router, authority: try CertificateAuthority(name: "stand-in"), tlsNames: nil,
                label: "chat-stand-in",
                logLevel: .critical)
        }

        var base: String { "http://127.0.0.1:\(port)" }

        func stop() async {
            task.cancel()
            _ = try? await task.value  // cancelled on purpose
        }

        func requests(_ suffix: String) -> [Seen] { log.items.withLock { $0.filter { $0.path.hasSuffix(suffix) } } }
    }

    static let slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"
    static let githubSecret = "It's a Secret to Everybody"

    /// A stack with the Slack app and GitHub hooks pointed at the stand-in, the real HTTP outbox, the vault
    /// holding their secrets, and the `/hooks` routes served through the same router as production.
    static func withChat(
        _ label: String, _ body: @Sendable (Stack, StandIn, any TestClientProtocol) async throws -> Void
    ) async throws {
        let standIn = try await StandIn()
        do {
            let origin = try GitFixture.make("chat-\(label)", files: ["README.md": "hello\n"])
            defer { origin.remove() }
            _ = try origin.originGit(["branch", "feature-x", "HEAD"])
            let dir = TestHost.makeDataDirectory("chat-\(label)")
            defer { TestHost.removeDataDirectory(dir) }
            // The origin under a path ending in acme/web.git: "github.com/acme/web" as far as the hook can tell,
            // cloned from the disk (tests reach nothing but loopback).
            try FileManager.default.createDirectory(atPath: dir + "/acme", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: dir + "/acme/web.git", withDestinationPath: origin.origin)
            let store = try SQLiteStore(path: dir + "/paddock.sqlite", logger: TestHost.quietLogger(label))
            let fake = FakeProvider()
            let sessions = SessionService(store: store, providers: ["local": fake], logger: TestHost.quietLogger(label))
            await sessions.setRepositories(try RepositoryClones(root: dir + "/repos"))
            try await store.insertTeam(
                TeamRecord(name: "a", permissions: TeamRecord.defaultPermissions, members: [], createdAt: Date()))
            try await store.insertUser(UserAccount(name: "alice", role: .member, createdAt: Date()))
            try await store.insertUser(UserAccount(name: "ada", role: .admin, createdAt: Date()))
            try await store.setMembership(team: "a", user: "alice", member: true)
            let vault = try SecretVault(store: store, keyFile: dir + "/vault.key")
            for (name, value) in [
                ("SLACK_SIGNING_SECRET", slackSecret), ("SLACK_BOT_TOKEN", "xoxb-test-token"),
                ("GITHUB_WEBHOOK_SECRET", githubSecret), ("GITHUB_TOKEN", "ghp_test_token"),
            ] {
                _ = try await vault.set(name: name, team: nil, value: value, hosts: ["127.0.0.1"], allowHTTP: true)
            }
            let runs = RunService(
                sessions: sessions, store: store, teams: store,
                configuration: RunConfiguration(
                    agents: [AgentDefinition(name: "echo", kind: .command, argv: ["echo", "{prompt}"])],
                    defaultAgent: "echo"),
                logger: TestHost.quietLogger(label))
            let projects = ProjectService(sessions: sessions, vault: vault, runs: runs)
            _ = try await projects.add(
                ProjectSpec(name: "web", repository: dir + "/acme/web.git", teams: ["a"]), by: AutomationTests.admin)
            let clock = TestClock(Date())
            let automations = try AutomationService(
                projects: projects,
                integrations: AutomationIntegrations(
                    publicURL: "https://paddock.example.com",
                    slack: try SlackSettings(apiURL: standIn.base + "/api"),
                    github: try GitHubHookSettings(apiURL: standIn.base + "/github")),
                logger: TestHost.quietLogger(label), clock: { clock() })
            let stack = Stack(
                store: store, fake: fake, sessions: sessions, runs: runs, projects: projects, automations: automations,
                clock: clock, sender: RecordingSender(), origin: origin.origin)
            var configuration = ServerConfiguration(vault: vault, runs: runs)
            configuration.automations = automations
            let app = Application(
                router: buildRouter(
                    sessions: sessions, tokens: TokenService(store: store), configuration: configuration))
            try await withRunning(runs) {
                try await withRunning(automations) {
                    try await app.test(.router) { client in try await body(stack, standIn, client) }
                }
            }
            for session in try await sessions.list(includeEnded: false) { _ = try await sessions.destroy(session.id) }
        } catch {
            await standIn.stop()
            throw error
        }
        await standIn.stop()
    }

    static func slackHeaders(_ body: String, at time: Date, secret: String = slackSecret) -> HTTPFields {
        let stamp = String(Int(time.timeIntervalSince1970))
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data("v0:\(stamp):\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        var fields: HTTPFields = [.contentType: "application/json"]
        fields[header("X-Slack-Request-Timestamp")] = stamp
        fields[header("X-Slack-Signature")] = "v0=" + mac.map { String(format: "%02x", $0) }.joined()
        return fields
    }

    /// A GitHub delivery's headers, signed with `secret` as GitHub signs them.
    static func githubHeaders(_ body: String, event: String, delivery: String, secret: String) -> HTTPFields {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        var fields: HTTPFields = [.contentType: "application/json"]
        fields[header("X-GitHub-Event")] = event
        fields[header("X-GitHub-Delivery")] = delivery
        fields[header("X-Hub-Signature-256")] = "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
        return fields
    }

    /// A header name the test spells out (valid by construction).
    static func header(_ name: String) -> HTTPField.Name {
        guard let field = HTTPField.Name(name) else { preconditionFailure("not a header name: \(name)") }
        return field
    }

    static func mention(_ eventID: String, text: String, user: String = "U2CERLKJA", thread: String? = nil) -> String {
        let threadField = thread.map { #","thread_ts":"\#($0)""# } ?? ""
        return #"{"type":"event_callback","event_id":"\#(eventID)","team_id":"T1","event":{"type":"app_mention","#
            + #""user":"\#(user)","text":"<@UAPP> \#(text)","channel":"C1","ts":"1700000000.000100"\#(threadField)}}"#
    }

    /// Waits for a condition on what the stand-in (or the store) has seen.
    static func until(_ what: String, _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + AutomationTests.patience
        while !(await condition()) {
            guard ContinuousClock.now < deadline else {
                Issue.record("never saw: \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: Signatures, against the providers' own examples

    @Test func slackSignaturesMatchSlacksDocumentedExample() {
        // The example in Slack's "Verifying requests from Slack".
        let body =
            "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
            + "channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
            + "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
            + "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
        let signed = WebhookRequest(
            body: Data(body.utf8),
            headers: [
                "X-Slack-Request-Timestamp": "1531420618",
                "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            ])
        let then = Date(timeIntervalSince1970: 1_531_420_618)
        #expect(AutomationService.checkSlackSignature(signed, secret: Self.slackSecret, now: then) == nil)
        // Six minutes later the same request is a replay.
        #expect(AutomationService.checkSlackSignature(signed, secret: Self.slackSecret, now: then + 360) != nil)
        // One byte changed, or another secret: refused.
        var altered = signed
        altered.body = Data((body + "x").utf8)
        #expect(AutomationService.checkSlackSignature(altered, secret: Self.slackSecret, now: then) != nil)
        #expect(AutomationService.checkSlackSignature(signed, secret: "another", now: then) != nil)
    }

    /// An edit names the post it edits by adding `ts` to its JSON body; a body that is not a JSON object is refused,
    /// never sent without it.
    @Test func anEditNamesItsPostOrIsNotSent() throws {
        let edited = try AutomationService.setting("ts", to: "1700000000.000200", in: #"{"channel":"C1","text":"hi"}"#)
        let json = try JSONDocument.parse(Data(edited.utf8))
        #expect(json[try JSONPath("ts")] == .string("1700000000.000200"))
        #expect(json[try JSONPath("channel")] == .string("C1"))
        #expect(throws: (any Error).self) { try AutomationService.setting("ts", to: "1", in: "[1, 2]") }
        #expect(throws: (any Error).self) { try AutomationService.setting("ts", to: "1", in: "not json") }
    }

    @Test func githubSignaturesMatchGitHubsDocumentedExample() {
        // The example in GitHub's "Validating webhook deliveries".
        let request = WebhookRequest(
            body: Data("Hello, World!".utf8),
            headers: ["X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"])
        #expect(AutomationService.checkGitHubSignature(request, secret: Self.githubSecret) == nil)
        #expect(AutomationService.checkGitHubSignature(request, secret: "wrong") != nil)
        #expect(
            AutomationService.checkGitHubSignature(
                WebhookRequest(body: request.body, headers: [:]), secret: Self.githubSecret) != nil)
    }

    // MARK: Slack end to end (fake provider, real routes, real HTTP outbox)

    @Test func aSlackMentionStartsWorkAndTheThreadHearsBack() async throws {
        try await Self.withChat("slack") { s, standIn, client in
            var spec = Self.spec(.slack, prompt: "{{event.text}}")
            spec.filter = [try AutomationFilter(parsing: "event.channel=C1")]
            let (automation, _) = try await s.automations.create(spec, by: Self.admin)
            try await s.automations.link(provider: "slack", external: "U2CERLKJA", user: "alice", by: Self.admin)

            // The URL's one-time challenge, signed.
            let challenge =
                #"{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#
            try await client.execute(
                uri: "/hooks/slack/events", method: .post, headers: Self.slackHeaders(challenge, at: s.clock()),
                body: ByteBuffer(string: challenge)
            ) { response in
                #expect(response.status == .ok)
                #expect(response.text.contains("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
            }
            // A bad signature: 401, recorded, nothing stored.
            let first = Self.mention("Ev1", text: "fix the login page")
            try await client.execute(
                uri: "/hooks/slack/events", method: .post,
                headers: Self.slackHeaders(first, at: s.clock(), secret: "not-the-secret"),
                body: ByteBuffer(string: first)
            ) { response in #expect(response.status == .unauthorized) }
            let org = try await #require(s.sessions.audit).events(session: .organization)
            #expect(org.contains { $0.kind == "automation.slack_refused" })

            // Signed: acknowledged at once, then started as alice; the thread gets a link, then the outcome.
            for _ in 0..<2 {  // the second is Slack's retry of the same event_id
                try await client.execute(
                    uri: "/hooks/slack/events", method: .post, headers: Self.slackHeaders(first, at: s.clock()),
                    body: ByteBuffer(string: first)
                ) { response in #expect(response.status == .ok) }
            }
            try await Self.until("two replies in the thread") { standIn.requests("/chat.postMessage").count >= 2 }
            let history = try await s.automations.history(automation.id, for: Self.admin)
            #expect(
                history.map(\.invocation.decision).sorted { $0.rawValue < $1.rawValue } == [.deduplicated, .started])
            let started = try #require(history.first { $0.invocation.decision == .started }?.invocation)
            #expect(started.actAs == "alice" && started.prompt == "fix the login page")
            let session = try await s.sessions.get(try #require(started.session))
            #expect(session.createdBy == "alice")
            // Exactly what Slack's API gets: the bot token as a bearer header (never in the body or URL), JSON
            // with the channel and thread, and links to the session.
            let posts = standIn.requests("/chat.postMessage")
            try #require(posts.count >= 2, "the thread got \(posts.count) message(s)")
            for post in posts {
                #expect(post.method == "POST" && post.path == "/api/chat.postMessage")
                #expect(post.headers["authorization"] == "Bearer xoxb-test-token")
                #expect(post.headers["content-type"]?.hasPrefix("application/json") == true)
                #expect(!post.body.contains("xoxb"))
                let json = try JSONDocument.parse(Data(post.body.utf8))
                #expect(json[try JSONPath("channel")] == .string("C1"))
                #expect(json[try JSONPath("thread_ts")] == .string("1700000000.000100"))
            }
            #expect(posts[0].body.contains("https://paddock.example.com/sessions/\(session.id)"))
            #expect(
                posts[1].body.contains("Finished (completed)") && posts[1].body.contains("/changes"), "\(posts[1].body)"
            )

            // A reply in the thread continues the same session.
            let reply = Self.mention("Ev2", text: "and the logout page", thread: "1700000000.000100")
            try await client.execute(
                uri: "/hooks/slack/events", method: .post, headers: Self.slackHeaders(reply, at: s.clock()),
                body: ByteBuffer(string: reply)
            ) { response in #expect(response.status == .ok) }
            try await Self.until("the reply's outcome") { standIn.requests("/chat.postMessage").count >= 4 }
            let again = try await s.automations.history(automation.id, for: Self.admin)
            let continued = try #require(again.first { $0.invocation.prompt == "and the logout page" }?.invocation)
            #expect(continued.session == session.id)
            #expect(try await s.sessions.list(includeEnded: true).count == 1)
            #expect(try await s.runs.list(session: session.id).count == 2)
        }
    }

    @Test func anUnlinkedSlackUserIsToldWhomToAsk() async throws {
        try await Self.withChat("unlinked") { s, standIn, client in
            let (automation, _) = try await s.automations.create(
                Self.spec(.slack, prompt: "{{event.text}}"), by: Self.admin)
            let event = Self.mention("Ev9", text: "deploy it", user: "UNKNOWN1")
            try await client.execute(
                uri: "/hooks/slack/events", method: .post, headers: Self.slackHeaders(event, at: s.clock()),
                body: ByteBuffer(string: event)
            ) { response in #expect(response.status == .ok) }
            try await Self.until("the refusal in the thread") { !standIn.requests("/chat.postMessage").isEmpty }
            let post = try #require(standIn.requests("/chat.postMessage").first)
            #expect(post.body.contains("not linked") && post.body.contains("ada"), "\(post.body)")
            let history = try await s.automations.history(automation.id, for: Self.admin)
            #expect(history.map(\.invocation.decision) == [.refused])
            #expect(try await s.sessions.list(includeEnded: true).isEmpty)
        }
    }

    // MARK: GitHub end to end

    /// A signed `push` delivery for a cached repository fetches its mirror at once (whatever the refresh window
    /// says), answering GitHub before the fetch is done, and is recorded in the organisation's trail; an unsigned one changes nothing.
    @Test func aGitHubPushRefreshesTheCachedRepository() async throws {
        try await Self.withChat("github-push") { s, _, client in
            let url = try await s.projects.get("web", for: Self.admin).repository
            var spec = SessionSpec()
            spec.repository = SessionRepository(url: url, branch: "main")
            _ = try await s.sessions.create(spec, by: .system)
            func refreshes() async throws -> [AuditEvent] {
                try await #require(s.sessions.audit).events(session: .organization).filter {
                    $0.kind == "repos.refresh"
                }
            }
            let body = #"{"ref":"refs/heads/main","after":"0000","repository":{"full_name":"Acme/Web"}}"#
            func headers(_ secret: String) -> HTTPFields {
                Self.githubHeaders(
                    body, event: "push", delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0959", secret: secret)
            }
            try await client.execute(
                uri: "/hooks/github", method: .post, headers: headers("wrong"), body: ByteBuffer(string: body)
            ) { response in #expect(response.status == .unauthorized) }
            #expect(try await refreshes().isEmpty)
            try await client.execute(
                uri: "/hooks/github", method: .post, headers: headers(Self.githubSecret), body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .ok, "\(response.text)")
                #expect(response.text.contains("refreshing") && response.text.contains("web.git"), "\(response.text)")
            }
            // The delivery is answered before the fetch is done (GitHub waits ten seconds); the trail says when.
            try await Self.until("the pushed repository is refreshed") { (try? await refreshes().isEmpty) == false }
            let refreshed = try #require(try await refreshes().first)
            #expect(refreshed.fields["repository"] == .string(url) && refreshed.fields["branch"] == .string("main"))
            #expect(RepositoryCacheService.url("git@github.com:acme/web.git", isGitHub: "acme/web"))
            #expect(RepositoryCacheService.url("https://github.com/Acme/Web/", isGitHub: "acme/web"))
            #expect(!RepositoryCacheService.url("https://github.com/acme/webapp", isGitHub: "acme/web"))
        }
    }

    @Test func aGitHubMentionOnAPullRequestWorksOnItsBranchAndComments() async throws {
        try await Self.withChat("github") { s, standIn, client in
            let (automation, _) = try await s.automations.create(
                Self.spec(.github, prompt: "{{event.text}}"), by: Self.admin)
            try await s.automations.link(provider: "github", external: "octocat", user: "alice", by: Self.admin)
            let body =
                #"{"action":"created","issue":{"number":7,"title":"Flaky test","pull_request":{"url":"x"}},"#
                + #""comment":{"body":"@paddock fix the flaky test","user":{"login":"octocat"}},"#
                + #""repository":{"full_name":"acme/web"}}"#
            func headers(_ secret: String) -> HTTPFields {
                Self.githubHeaders(
                    body, event: "issue_comment", delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958", secret: secret)
            }
            try await client.execute(
                uri: "/hooks/github", method: .post, headers: headers("wrong"), body: ByteBuffer(string: body)
            ) { response in #expect(response.status == .unauthorized) }
            try await client.execute(
                uri: "/hooks/github", method: .post, headers: headers(Self.githubSecret), body: ByteBuffer(string: body)
            ) { response in #expect(response.status == .ok, "\(response.text)") }
            try await Self.until("a comment on the pull request") { !standIn.requests("/comments").isEmpty }
            // The head branch was asked for with the token as a bearer header.
            let lookup = try #require(standIn.requests("/pulls/7").first)
            #expect(lookup.method == "GET" && lookup.headers["authorization"] == "Bearer ghp_test_token")
            let comment = try #require(standIn.requests("/comments").first)
            #expect(comment.path == "/github/repos/acme/web/issues/7/comments")
            #expect(comment.headers["authorization"] == "Bearer ghp_test_token")
            let json = try JSONDocument.parse(Data(comment.body.utf8))
            #expect(json[try JSONPath("body")]?.text.contains("https://paddock.example.com/sessions/") == true)
            let started = try #require(
                try await s.automations.history(automation.id, for: Self.admin).first?.invocation)
            #expect(started.branch == "feature-x" && started.actAs == "alice" && started.prompt == "fix the flaky test")
            let session = try await s.sessions.get(try #require(started.session))
            #expect(session.spec.repository?.branch == "feature-x")
        }
    }
}
