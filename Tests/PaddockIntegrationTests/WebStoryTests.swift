import Foundation
import Hummingbird
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import PaddockWeb
import Testing

@testable import PaddockHost

/// The product's headline story, in a real browser (Debian's Chromium, headless, driven by Playwright from
/// `Tests/web/story.py`) against a real server on loopback with real sandboxes and the real Claude Code
/// talking to a scripted model: an admin invites a PM; the PM signs up, starts a change on a project and
/// watches it live; the agent asks before a command, and the engineer's open approvals inbox shows it without a
/// reload; the PM submits; the engineer approves and merges; the origin's branch has the commit.
/// Screenshots of every screen, at desktop and phone widths, go to `.build/web-screenshots/`.
@Suite(.needsSandboxes, .serialized)
struct WebStoryTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The model's last words carry markup, as a prompt-injected agent's would: the page must show it as text.
    static let attack = #"<img src=x onerror="window.__paddockXSS=true">"#

    static let script: [ScriptedModelServer.Turn] =
        Array(AgentWorkflowTests.script.dropLast(2)) + [
            // The project's rules say a person approves `touch` first.
            .tool("Bash", input: #"{"command":"touch /tmp/scratch","description":"make a scratch file"}"#),
            .say("Added mul() with a test; the tests pass. \(attack)"),
        ]

    static let policy = """
        version: 1
        name: calc
        compute: {memory: 2GiB}
        checks:
          - python3 tests/test_calc.py
        guardrails:
          commands: {deny: [curl], ask: [touch]}
          network: {allow: ["127.0.0.1"]}
        """

    static func requireBrowser() throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"),
            "Chromium is not installed; run scripts/install-deps.sh (make test does)")
        try #require(
            FileManager.default.fileExists(atPath: repoRoot + "/.venv/bin/python"),
            "the test virtualenv is missing; run scripts/install-python.sh (make test does)")
    }

    @Test func aPMGetsAChangeMadeReviewedAndMergedWithoutATerminal() async throws {
        try AgentRunTests.requireClaude()
        try Self.requireBrowser()
        var files = AgentWorkflowTests.files
        files["runtime.yml"] = nil
        let fixture = try GitFixture.make("web-story", files: files)
        defer { fixture.remove() }
        try await AgentRunTests.with("web-story", script: Self.script) { agents in
            let store = agents.stack.store
            let now = Date()
            try await store.insertTeam(
                TeamRecord(name: "product", permissions: TeamRecord.defaultPermissions, members: [], createdAt: now))
            try await store.insertUser(UserAccount(name: "eve", role: .admin, createdAt: now))
            let signIn = SignInService(
                store: store, trail: agents.sessions.orgTrail,
                configuration: SignInConfiguration(passwordHashing: SignInStack.cheapHashing),
                logger: TestHost.quietLogger("web-story"))
            let engineerPassword = "an engineer's long passphrase"
            try await signIn.setPassword(user: "eve", password: engineerPassword, by: .system)
            // What engineering sets up once: the project, open to the PM's team.
            var project = ProjectSpec(name: "calc", repository: fixture.origin, branch: "feature")
            project.policy = Self.policy
            project.teams = ["product"]
            project.secrets = ["ANTHROPIC_API_KEY"]
            _ = try await ProjectService(sessions: agents.sessions, vault: agents.network.vault, runs: agents.runs)
                .add(project, by: .system)
            let invite = try await signIn.invites.create(role: .member, teams: ["product"], user: "pat", by: .system)

            var configuration = ServerConfiguration(port: 0, vault: agents.network.vault, runs: agents.runs)
            configuration.signIn = signIn
            configuration.webPages = try await PageRenderer.load()
            let (ports, announce) = AsyncStream.makeStream(of: Int.self)
            let app = buildApplication(
                sessions: agents.sessions, tokens: agents.stack.tokens, configuration: configuration,
                logger: TestHost.quietLogger("web-story"), onServerRunning: { announce.yield($0) })
            let server = Task { try await app.runService() }
            defer { server.cancel() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())

            let heavy = try await UIBenchmark.longSession(agents.sessions, store: store, team: "product", events: 2_000)
            let shots = Self.repoRoot + "/.build/web-screenshots"
            try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
            let seen = try await Self.browse([
                "--base", "http://127.0.0.1:\(port)", "--invite", invite.path, "--pm", "pat",
                "--pm-password", "a product manager's passphrase", "--engineer", "eve",
                "--engineer-password", engineerPassword, "--project", "calc",
                "--prompt", "Add a mul function and its test", "--expect-message", "Added mul()", "--shots", shots,
                "--heavy", heavy.rawValue,
            ])

            #expect(seen["signed_in_as"] as? String == "pat")
            #expect((seen["approval_asked"] as? String)?.contains("touch") == true, "\(seen)")
            #expect(seen["timeline_has_approval"] as? Bool == true, "\(seen)")
            // The session's meters: its limits are the project's (2 GiB of memory).
            #expect((seen["meters"] as? String)?.contains("of 2.0 GiB memory") == true, "\(seen)")
            #expect((seen["allowed"] as? [String])?.contains { $0.contains("127.0.0.1") } == true, "\(seen)")
            #expect(seen["timeline_has_markup_from_agent"] as? Bool == false)
            #expect(seen["xss_ran"] as? Bool == false)
            #expect((seen["org_chart"] as? String)?.contains("product") == true, "\(seen)")
            #expect((seen["org_by_project"] as? String)?.contains("calc") == true, "\(seen)")
            #expect((seen["replay"] as? String)?.contains("Step 3 of") == true, "\(seen)")
            // How soon a 2,000-event session page is interactive: reported (BENCHMARKS.md), not asserted.
            let heavyPage = try #require(seen["heavy_page"] as? [String: Any], "\(seen)")
            #expect(heavyPage["items"] as? Int == 2_000, "\(heavyPage)")
            print("web story: a 2,000-event session page in Chromium: \(heavyPage)")
            #expect((seen["checks"] as? [String])?.first?.hasPrefix("Passed") == true, "\(seen)")
            #expect((seen["merged"] as? String)?.contains("Merged as") == true, "\(seen)")
            #expect((seen["pm_page_errors"] as? [Any])?.isEmpty == true, "\(seen)")
            // The origin's branch has the change, merged by the engineer.
            #expect(try fixture.originGit(["show", "feature:calc.py"]).contains("def mul(a, b):"))
            // Every action is the signed-in person's in the audit trail.
            let session = try #require(
                try await agents.sessions.list(includeEnded: true).first { $0.spec.project == "calc" })
            let audit = try #require(agents.sessions.audit)
            let events = try await audit.events(session: session.id)
            #expect(events.first { $0.kind == "session.create" }?.actor.user == "pat")
            #expect(events.first { $0.kind == "run.start" }?.actor.user == "pat")
            #expect(events.first { $0.kind == "review.approve" }?.actor.user == "eve")
            #expect(events.first { $0.kind == "approval.answer" }?.actor.user == "eve")
            #expect(events.first { $0.kind == "session.create" }?.actor.token?.hasPrefix("web:") == true)
            #expect(try await audit.verify(session: session.id).ok)
        }
    }

    /// Runs a browser script of `Tests/web` (the story by default) and returns what it saw. Its output goes to files and its exit is awaited
    /// through `terminationHandler`: a blocking read or wait would hold one of the few threads the server under
    /// test needs to answer the browser.
    static func browse(_ arguments: [String], script: String = "story.py") async throws -> [String: Any] {
        let dir = TestHost.makeDataDirectory("web-browser-out")
        defer { TestHost.removeDataDirectory(dir) }
        _ = FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        _ = FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: repoRoot + "/.venv/bin/python")
        process.arguments = [repoRoot + "/Tests/web/" + script] + arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
        let status = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<Int32, any Error>) in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let stdout = FileManager.default.contents(atPath: dir + "/out") ?? Data()
        let stderr = FileManager.default.contents(atPath: dir + "/err") ?? Data()
        let diagnostics = String(decoding: stderr.suffix(8000), as: UTF8.self)
        try #require(status == 0, "the browser (\(script)) failed:\n\(diagnostics)")
        let seen = try JSONSerialization.jsonObject(with: stdout) as? [String: Any]
        return try #require(seen, "the browser (\(script)) printed no result:\n\(diagnostics)")
    }
}
