import Crypto
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

@testable import PaddockServices

/// End to end: a signed Slack mention starts the real Claude Code (against the scripted model server) in a real
/// runc sandbox of a project, as the linked person; the thread receives a link and then the outcome; Slack's
/// retry starts nothing; a bad signature is 401.
@Suite(.needsSandboxes, .serialized)
struct AutomationAgentTests {
    @Test func aSlackMentionStartsClaudeCodeAndTheThreadHearsTheOutcome() async throws {
        try AgentRunTests.requireClaude()
        let origin = try GitFixture.make("automation-agent", files: ["README.md": "checkout\n"])
        defer { origin.remove() }
        let write = ScriptedModelServer.Turn.tool(
            "Write", input: #"{"file_path":"/workspace/FIX.md","content":"the checkout total is rounded now\n"}"#)
        try await AgentTestStack.with(
            "automation-agent", apiKey: "sk-ant-api03-\(UUID().uuidString)\(UUID().uuidString)",
            script: [write, .say("I fixed the rounding.")]
        ) { agents in
            let standIn = try await AutomationTests.StandIn()
            do {
                try await Self.run(agents, origin: origin.origin, standIn: standIn)
            } catch {
                await standIn.stop()
                throw error
            }
            await standIn.stop()
        }
    }

    static func run(_ agents: AgentTestStack, origin: String, standIn: AutomationTests.StandIn) async throws {
        let store = agents.stack.store
        await agents.sessions.setRepositories(try RepositoryClones(root: agents.stack.dataDirectory + "/repos"))
        try await store.insertTeam(
            TeamRecord(name: "a", permissions: TeamRecord.defaultPermissions, members: [], createdAt: Date()))
        try await store.insertUser(UserAccount(name: "alice", role: .member, createdAt: Date()))
        try await store.setMembership(team: "a", user: "alice", member: true)
        let vault = agents.network.vault
        try await vault.set(
            name: "SLACK_SIGNING_SECRET", team: nil, value: AutomationTests.slackSecret, hosts: ["127.0.0.1"],
            allowHTTP: true)
        try await vault.set(
            name: "SLACK_BOT_TOKEN", team: nil, value: "xoxb-e2e-token", hosts: ["127.0.0.1"], allowHTTP: true)
        let projects = ProjectService(sessions: agents.sessions, vault: vault, runs: agents.runs)
        _ = try await projects.add(
            ProjectSpec(
                name: "shop", repository: origin,
                policy: "version: 1\ncompute: {memory: 2GiB}\nguardrails:\n  network: {allow: [\"127.0.0.1\"]}\n",
                teams: ["a"], secrets: ["ANTHROPIC_API_KEY"]), by: AutomationTests.admin)
        let automations = try AutomationService(
            projects: projects,
            integrations: AutomationIntegrations(
                publicURL: "https://paddock.example.com", slack: try SlackSettings(apiURL: standIn.base + "/api")),
            logger: TestHost.quietLogger("automation-agent"))
        var spec = AutomationSpec(
            name: "shop-slack", team: "a", source: .slack, project: "shop", prompt: "{{event.text}}", runAs: "alice")
        spec.filter = [try AutomationFilter(parsing: "event.channel=C1")]
        let (automation, _) = try await automations.create(spec, by: AutomationTests.admin)
        try await automations.link(provider: "slack", external: "U2CERLKJA", user: "alice", by: AutomationTests.admin)
        var configuration = ServerConfiguration(vault: vault, runs: agents.runs)
        configuration.automations = automations
        let app = Application(
            router: buildRouter(
                sessions: agents.sessions, tokens: TokenService(store: store), configuration: configuration))
        try await withRunning(automations) {
            try await app.test(.router) { client in
                let mention = AutomationTests.mention("EvE2E", text: "fix the checkout rounding")
                let now = Date()
                try await client.execute(
                    uri: "/hooks/slack/events", method: .post,
                    headers: AutomationTests.slackHeaders(mention, at: now, secret: "wrong"),
                    body: ByteBuffer(string: mention)
                ) { response in #expect(response.status == .unauthorized) }
                for _ in 0..<2 {  // Slack's retry repeats the event id
                    try await client.execute(
                        uri: "/hooks/slack/events", method: .post,
                        headers: AutomationTests.slackHeaders(mention, at: now),
                        body: ByteBuffer(string: mention)
                    ) { response in #expect(response.status == .ok) }
                }
                try await AutomationTests.until("the outcome in the thread") {
                    standIn.requests("/chat.postMessage").count >= 2
                }
            }
        }
        let history = try await automations.history(automation.id, for: AutomationTests.admin)
        #expect(history.count == 2 && history.filter { $0.invocation.decision == .deduplicated }.count == 1)
        let started = try #require(history.first { $0.invocation.decision == .started }?.invocation)
        #expect(started.outcome == "completed", "\(started)")
        let run = try await agents.runs.get(try #require(started.run))
        #expect(run.agent == "claude-code" && run.createdBy == "alice", "\(run)")
        #expect(run.finalMessage?.contains("I fixed the rounding.") == true, "\(run.finalMessage ?? "-")")
        let session = try #require(started.session)
        let file = try await agents.sessions.sh(session, "cat /workspace/FIX.md")
        #expect(file.stdout == "the checkout total is rounded now\n")
        let posts = standIn.requests("/chat.postMessage")
        try #require(posts.count >= 2, "the thread heard \(posts.count) messages, not the start and the outcome")
        #expect(posts.allSatisfy { $0.headers["authorization"] == "Bearer xoxb-e2e-token" })
        #expect(posts[0].body.contains("https://paddock.example.com/sessions/\(session)"), "\(posts[0].body)")
        #expect(posts[1].body.contains("Finished (completed)"), "\(posts[1].body)")
        #expect(try await agents.sessions.list(includeEnded: true).filter { $0.spec.project == "shop" }.count == 1)
    }
}
