import Foundation
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// The real mini-swe-agent (from PyPI, in the repository's `.venv`) in a real runc session, talking OpenAI
/// chat completions through litellm to the scripted model server on loopback, through the egress gateway,
/// which swaps the `OPENAI_API_KEY` placeholder for the real key.
@Suite(.needsSandboxes, .serialized)
struct OpenAIAgentTests {
    static func requireMiniSweAgent() throws -> (sitePackages: String, python: String) {
        try #require(
            AgentTestStack.miniSweAgentPackages,
            "mini-swe-agent is not in .venv (or no /usr/bin/python3.X matches it); run scripts/install-python.sh")
    }

    static func bash(_ command: String) -> ScriptedModelServer.Turn {
        let data = (try? JSONSerialization.data(withJSONObject: ["command": command])) ?? Data()
        return .tool("bash", input: String(decoding: data, as: UTF8.self))
    }

    /// A stack whose `mini-swe-agent` talks to a scripted server speaking `script` (through the gateway: the
    /// server is on the host's loopback), and a session holding the `OPENAI_API_KEY` placeholder.
    static func withMiniSweAgent(
        _ label: String, script: [ScriptedModelServer.Turn], env: [String: String] = [:],
        configure: @escaping (inout RunConfiguration) -> Void = { _ in },
        _ body: (AgentTestStack, Session) async throws -> Void
    ) async throws {
        let mini = try requireMiniSweAgent()
        try await AgentTestStack.with(
            label, apiKey: "sk-proj-\(UUID().uuidString)\(UUID().uuidString)", script: script,
            configure: { configuration, model in
                configuration.agents["mini-swe-agent"] = .miniSweAgent(
                    python: mini.python,
                    env: ["OPENAI_BASE_URL": model.baseURL + "/v1", "NO_PROXY": "", "no_proxy": ""].merging(env) {
                        $1
                    })
                configure(&configuration)
            }
        ) { agents in try await body(agents, try await agents.openAISession()) }
    }

    @Test func miniSweAgentWritesAFileRunsItAndSubmits() async throws {
        let write = Self.bash("printf 'def hello():\\n    return \"hi\"\\n' > /workspace/hello.py")
        let run = Self.bash("cd /workspace && python3 -c 'import hello; print(hello.hello())'")
        let submit = Self.bash("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT; echo 'I added hello.py.'")
        try await Self.withMiniSweAgent(
            "agent-mini", script: [write, run, submit],
            configure: { $0.prices.prices["openai/gpt-test"] = PriceTable.Price(input: 2, output: 8) }, Self.check)
    }

    static func check(_ agents: AgentTestStack, _ session: Session) async throws {
        let placeholder = try #require(session.spec.env["OPENAI_API_KEY"])
        #expect(placeholder.hasPrefix("PADDOCK-PLACEHOLDER-"))

        let started = try await agents.runs.start(
            session: session.id, prompt: "Add a hello function", agent: "mini-swe-agent", model: "openai/gpt-test",
            by: "tester")
        let run = try await agents.runs.wait(started.id)
        #expect(run.status == .completed, "\(run.reason ?? "") \(run.errors)")
        #expect(run.exitCode == 0)
        #expect(run.finalMessage == "I added hello.py.", "\(run.finalMessage ?? "-")")
        #expect(run.commands.count == 3 && run.commands[1].contains("import hello"), "\(run.commands)")
        #expect(run.filesChanged == ["hello.py"], "\(run.filesChanged)")
        // Three model calls, as the scripted server reports them; priced from Paddock's table.
        let call = ScriptedModelServer.usagePerCall
        #expect(run.usage == TokenUsage(input: 3 * call.input, output: 3 * call.output), "\(run.usage)")
        #expect(run.costSource == "price-table")
        #expect(abs(run.costUSD - Double(3 * call.input * 2 + 3 * call.output * 8) / 1_000_000) < 1e-12)

        let file = try await agents.sessions.sh(session.id, "cat /workspace/hello.py")
        #expect(file.stdout == "def hello():\n    return \"hi\"\n")

        var events: [RunEvent] = []
        for await e in try await agents.runs.events(run.id) { events.append(e) }
        #expect(events.filter { $0.kind == "tool_call" && $0.tool == "bash" }.count == 3)
        #expect(
            events.contains { $0.kind == "tool_result" && $0.text == "hi\n" && $0.isError == false },
            "\(events.filter { $0.kind == "tool_result" })")
        #expect(events.last?.status == .completed)

        // Every model call carried the real key and offered mini-swe-agent's bash tool; the placeholder never
        // reached the server, and the sandbox only ever held the placeholder.
        let requests = await agents.model.requests()
        #expect(requests.count == 3, "\(requests.map(\.path))")
        #expect(Set(requests.map(\.path)) == ["/v1/chat/completions"])
        for r in requests {
            #expect(r.headers["authorization"] == "Bearer \(agents.apiKey)")
            #expect(!r.body.contains(placeholder) && !r.headers.values.contains { $0.contains(placeholder) })
            #expect(r.body.contains("\"bash\"") && r.body.contains("gpt-test"))
        }
        #expect(requests.last?.body.contains("Add a hello function") == true)
        let inside = try await agents.sessions.sh(
            session.id, "env; grep -rl '\(agents.apiKey)' /home/user /workspace /tmp 2>/dev/null; echo end")
        #expect(!inside.stdout.contains(agents.apiKey))
        #expect(inside.stdout.contains("OPENAI_API_KEY=\(placeholder)"))
    }

    /// A model that never calls the bash tool: mini-swe-agent gives up after three such answers, and the run
    /// fails with its exit status; the three calls' tokens are still counted.
    @Test func aModelWithoutToolCallsFailsTheRun() async throws {
        try await Self.withMiniSweAgent(
            "agent-mini-fail", script: [], env: ["MSWEA_MODEL_NAME": "openai/gpt-test"]
        ) { agents, session in
            let run = try await agents.runs.wait(
                try await agents.runs.start(session: session.id, prompt: "Do nothing", agent: "mini-swe-agent").id)
            #expect(run.status == .failed)
            #expect(run.reason?.contains("RepeatedFormatError") == true, "\(run.reason ?? "-")")
            #expect(run.commands.isEmpty && run.filesChanged.isEmpty)
            let requests = await agents.model.requests()
            #expect(requests.count == 3 && requests.allSatisfy { $0.body.contains("gpt-test") })
            let call = ScriptedModelServer.usagePerCall
            #expect(run.usage == TokenUsage(input: 3 * call.input, output: 3 * call.output), "\(run.usage)")
        }
    }

    /// `paddock server` finds mini-swe-agent in the `.venv` next to its build: the packages are mounted in
    /// sessions and the sandbox's Python of their version imports them; a prompt without the key's secret is
    /// refused with what to do.
    @Test func theServerFindsMiniSweAgentInTheVenv() async throws {
        let mini = try Self.requireMiniSweAgent()
        let server = try await CLITests.ServerProcess(extraArguments: [])
        do {
            let created = try await CLITests.CLI.run(["session", "create", "--json"], server: server)
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))
            let version = try await CLITests.CLI.run(
                [
                    "exec", session.id, "--", "env", "PYTHONPATH=" + AgentDefinition.miniSweAgentSandboxPath,
                    "MSWEA_SILENT_STARTUP=1", "MSWEA_GLOBAL_CONFIG_DIR=/tmp/mini", mini.python, "-c",
                    "import minisweagent; print(minisweagent.__version__)",
                ], server: server)
            #expect(version.status == 0 && version.stdout.hasPrefix("2."), "\(version.stdout) \(version.stderr)")
            let refused = try await CLITests.CLI.run(
                ["prompt", session.id, "x", "--agent", "mini-swe-agent"], server: server)
            #expect(refused.status == 1 && refused.stderr.contains("OPENAI_API_KEY"), "\(refused.stderr)")
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    /// Cancelling the run stops mini-swe-agent in the middle of a command: its Python, the command (which it
    /// started in a session of its own) and the shell around them are gone from the sandbox.
    @Test func aCancelledRunLeavesNoCommandBehind() async throws {
        try await Self.withMiniSweAgent("agent-mini-stop", script: [Self.bash("sleep 120")]) { agents, session in
            let started = try await agents.runs.start(
                session: session.id, prompt: "Wait", agent: "mini-swe-agent", model: "openai/gpt-test")
            let processes = "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline,
                !(try await agents.sessions.sh(session.id, processes).stdout.contains("sleep 120"))
            {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await agents.sessions.sh(session.id, processes).stdout.contains("sleep 120"))
            let run = try await agents.runs.cancel(started.id, by: "tester")
            #expect(run.status == .cancelled, "\(run.reason ?? "-")")
            #expect(await agents.model.requests().count == 1)
            try await Task.sleep(for: .milliseconds(500))
            let left = try await agents.sessions.sh(session.id, processes)
            #expect(!left.stdout.contains("sleep 120") && !left.stdout.contains("minisweagent"), "\(left.stdout)")
        }
    }
}
