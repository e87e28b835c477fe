import Foundation
import PaddockCore
import PaddockSandbox
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// Context defined once (`agent:` in runtime.yml) reaching the real Claude Code and the real Codex in real runc
/// sessions: both see the instructions (the scripted model server receives them), both call a tool of a small
/// stdio MCP server built on the `mcp` package, the tool's result is in the run's record and the call in the
/// audit trail, and nothing of it is written into /workspace.
@Suite(.needsSandboxes, .serialized)
struct AgentContextTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let serverScript = repository + "/Tests/PaddockIntegrationTests/Fixtures/notes_mcp_server.py"
    /// What the MCP server answers for the key `deploy`.
    static let note = "note deploy: the deploy window is Tuesday 14:00 UTC"

    /// The policy: instructions, a skill of the repository, and the notes server run by the sandbox's Python
    /// with the `mcp` package from the packages bound into every sandbox.
    static func policy(instructions: String, python: String) -> PolicyText {
        PolicyText(
            text: """
                version: 1
                agent:
                  \(instructions)
                  skills: [skills/release-notes]
                  mcp_servers:
                    notes:
                      command: [\(python), /home/user/notes_mcp_server.py]
                      env: {PYTHONPATH: \(AgentDefinition.miniSweAgentSandboxPath), PYTHONDONTWRITEBYTECODE: "1"}
                """, file: "runtime.yml")
    }

    static func requirements() throws -> String {
        let packages = try #require(
            AgentTestStack.miniSweAgentPackages,
            "the .venv's packages (with mcp) are missing; run scripts/install-python.sh")
        #expect(FileManager.default.fileExists(atPath: packages.sitePackages + "/mcp/__init__.py"))
        return packages.python
    }

    /// Puts the MCP server where the policy says the template has it, and a skill in the repository.
    static func prepare(_ agents: AgentTestStack, _ session: Session) async throws {
        let script = try String(contentsOfFile: serverScript, encoding: .utf8)
        _ = try await SessionFiles(sessions: agents.sessions).write(
            session.id, path: "/home/user/notes_mcp_server.py", user: .user,
            data: BackpressuredStream { await $0.send(Array(script.utf8)) }, by: .system)
        let skill = "---\nname: release-notes\ndescription: Writes release notes.\n---\nList changes by area.\n"
        _ = try await SessionFiles(sessions: agents.sessions).write(
            session.id, path: "/workspace/skills/release-notes/SKILL.md", user: .user, createParents: true,
            data: BackpressuredStream { await $0.send(Array(skill.utf8)) }, by: .system)
    }

    /// The run's MCP call and its result in the record, the call in the audit trail, and /workspace as it was.
    static func expectToolCallRecorded(
        _ agents: AgentTestStack, _ session: Session, _ run: Run, tool: String,
        workspace: String = "./skills/release-notes/SKILL.md\n"
    ) async throws {
        var events: [RunEvent] = []
        for await e in try await agents.runs.events(run.id) { events.append(e) }
        #expect(events.contains { $0.kind == "tool_call" && $0.tool == tool }, "\(events.map { $0.tool ?? "-" })")
        #expect(
            events.contains { $0.kind == "tool_result" && $0.tool == tool && $0.text?.contains(note) == true },
            "\(events.filter { $0.kind == "tool_result" })")
        let audit = try #require(agents.sessions.audit)
        let calls = try await audit.events(session: session.id).filter { $0.kind == "mcp.tool_call" }
        #expect(calls.count == 1, "\(calls)")
        #expect(calls.first?.fields["server"] == .string("notes") && calls.first?.fields["tool"] == .string("lookup"))
        if case .string(let arguments)? = calls.first?.fields["arguments"] {
            #expect(arguments.contains("deploy"))
        } else {
            Issue.record("the call's arguments are not recorded: \(calls)")
        }
        // The context lives in the user's home; /workspace holds only what the test put there.
        let listing = try await agents.sessions.sh(session.id, "cd /workspace && find . -type f | sort")
        #expect(listing.stdout == workspace, "\(listing.stdout)")
    }

    @Test func claudeCodeSeesTheInstructionsSkillsAndCallsTheMCPServer() async throws {
        try AgentRunTests.requireClaude()
        let python = try Self.requirements()
        let call = ScriptedModelServer.Turn.tool("mcp__notes__lookup", input: #"{"key":"deploy"}"#)
        try await AgentTestStack.with(
            "agent-context-claude", apiKey: "sk-ant-api03-\(UUID().uuidString)\(UUID().uuidString)",
            script: [call, .say("The window is Tuesday.")]
        ) { agents in
            let policy = Self.policy(
                instructions: "instructions: \"Sign every answer with BLUE-HERON-7.\"", python: python)
            let session = try await agents.sessions.create(agents.sessionSpec(), policy: policy)
            try await Self.prepare(agents, session)
            let run = try await agents.runs.wait(
                try await agents.runs.start(
                    session: session.id, prompt: "When is the deploy window?", model: "claude-sonnet-4-5",
                    by: "tester"
                ).id)
            #expect(run.status == .completed, "\(run.reason ?? "") \(run.errors)")
            let requests = await agents.model.requests().filter { $0.path.hasPrefix("/v1/messages") }
            #expect(requests.contains { $0.body.contains("BLUE-HERON-7") }, "the instructions never reached the model")
            #expect(requests.contains { $0.body.contains("mcp__notes__lookup") }, "the MCP tool was not offered")
            let skill = try await agents.sessions.sh(session.id, "cat /home/user/.claude/skills/release-notes/SKILL.md")
            #expect(skill.stdout.contains("List changes by area."), "\(skill.stdout) \(skill.stderr)")
            try await Self.expectToolCallRecorded(agents, session, run, tool: "mcp__notes__lookup")
        }
    }

    /// Codex offers an MCP server's tools to the model as a `namespace` tool (`mcp__notes` holding `lookup`) once
    /// the server is ready, which it waits for because Paddock marks the servers it configures `required`.
    @Test func codexSeesTheInstructionsFromAFileAndCallsTheMCPServer() async throws {
        try CodexAgentTests.requireCodex()
        let python = try Self.requirements()
        let call = ScriptedModelServer.Turn.tool("mcp__notes__lookup", input: #"{"key":"deploy"}"#)
        try await AgentTestStack.with(
            "agent-context-codex", apiKey: "sk-proj-\(UUID().uuidString)\(UUID().uuidString)",
            script: [call, .say("The window is Tuesday.")]
        ) { agents in
            try await agents.network.vault.set(
                name: "OPENAI_API_KEY", team: nil, value: agents.apiKey, hosts: ["127.0.0.1:\(agents.model.port)"],
                allowHTTP: false)
            var spec = agents.sessionSpec()
            spec.secrets = ["OPENAI_API_KEY"]
            // The instructions are a file of the repository, read when the run starts; it stays as it is.
            let policy = Self.policy(instructions: "instructions: {file: docs/agents.md}", python: python)
            let session = try await agents.sessions.create(spec, policy: policy)
            try await Self.prepare(agents, session)
            let notes = "Sign every answer with GREEN-OTTER-3.\n"
            _ = try await SessionFiles(sessions: agents.sessions).write(
                session.id, path: "/workspace/docs/agents.md", user: .user, createParents: true,
                data: BackpressuredStream { await $0.send(Array(notes.utf8)) }, by: .system)
            let run = try await agents.runs.wait(
                try await agents.runs.start(
                    session: session.id, prompt: "When is the deploy window?", agent: "codex",
                    model: CodexAgentTests.model, by: "tester"
                ).id)
            #expect(run.status == .completed, "\(run.reason ?? "") \(run.errors)")
            let requests = await agents.model.requests().filter { $0.path == "/v1/responses" }
            #expect(requests.contains { $0.body.contains("GREEN-OTTER-3") }, "the instructions never reached the model")
            #expect(
                requests.first?.body.contains(#""name":"mcp__notes""#) == true,
                "the MCP tools were not offered in the first request")
            let home = try await agents.sessions.sh(session.id, "cat /home/user/.codex/AGENTS.md")
            #expect(home.stdout.contains("GREEN-OTTER-3"), "\(home.stdout)")
            let skill = try await agents.sessions.sh(session.id, "cat /home/user/.codex/skills/release-notes/SKILL.md")
            #expect(skill.stdout.contains("List changes by area."), "\(skill.stdout) \(skill.stderr)")
            let original = try await agents.sessions.sh(session.id, "cat /workspace/docs/agents.md")
            #expect(original.stdout == notes)
            try await Self.expectToolCallRecorded(
                agents, session, run, tool: "mcp:notes/lookup",
                workspace: "./docs/agents.md\n./skills/release-notes/SKILL.md\n")
        }
    }

    @Test func aRemoteServerWhoseSecretTheSessionLacksIsRefusedBeforeTheRun() async throws {
        try AgentRunTests.requireClaude()
        try await AgentTestStack.with(
            "agent-context-remote", apiKey: "sk-ant-api03-\(UUID().uuidString)", script: []
        ) { agents in
            let policy = PolicyText(
                text: """
                    version: 1
                    agent:
                      mcp_servers:
                        tracker: {url: "https://mcp.tracker.example/mcp", secret: TRACKER_TOKEN}
                    """, file: "runtime.yml")
            let session = try await agents.sessions.create(agents.sessionSpec(), policy: policy)
            let refused = await #expect(throws: PaddockError.self) {
                try await agents.runs.start(session: session.id, prompt: "Go", by: "tester")
            }
            #expect(refused?.message.contains("--secret TRACKER_TOKEN") == true, "\(refused?.message ?? "-")")
        }
    }
}
