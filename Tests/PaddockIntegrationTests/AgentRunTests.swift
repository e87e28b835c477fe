import Foundation
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// The real Claude Code CLI (from the claude-agent-sdk wheel) in real runc sessions, talking to a scripted
/// Anthropic API on loopback through the egress gateway, which swaps the key's placeholder for the real key;
/// and the generic command agent. Run records, events, cancel, re-attach, budgets and limits.
@Suite(.needsSandboxes, .serialized)
struct AgentRunTests {
    static func with(
        _ label: String, script: [ScriptedModelServer.Turn] = [],
        configure: (inout RunConfiguration) -> Void = { _ in }, _ body: (AgentTestStack) async throws -> Void
    ) async throws {
        try await AgentTestStack.with(
            label, apiKey: "sk-ant-api03-\(UUID().uuidString)\(UUID().uuidString)", script: script,
            configure: { configuration, _ in configure(&configuration) }, body)
    }

    static func requireClaude() throws {
        try #require(
            AgentTestStack.claudeBinary != nil,
            "Claude Code is not installed in .venv; run scripts/install-python.sh (make test does)")
    }

    static let writeHello = ScriptedModelServer.Turn.tool(
        "Write", input: #"{"file_path":"/workspace/hello.py","content":"def hello():\n    return 'hi'\n"}"#)
    static let runHello = ScriptedModelServer.Turn.tool(
        "Bash",
        input: #"{"command":"cd /workspace && python3 -c 'import hello; print(hello.hello())'","description":"run it"}"#
    )

    @Test func claudeCodeWritesAFileRunsACommandAndContinuesTheConversation() async throws {
        try Self.requireClaude()
        try await Self.with("agent-claude", script: [Self.writeHello, Self.runHello, .say("I added hello.py.")]) {
            agents in
            let session = try await agents.sessions.create(agents.sessionSpec())
            let placeholder = try #require(session.spec.env["ANTHROPIC_API_KEY"])
            #expect(placeholder.hasPrefix("PADDOCK-PLACEHOLDER-"))

            let started = try await agents.runs.start(
                session: session.id, prompt: "Add a hello function", model: "claude-sonnet-4-5", by: "tester")
            let run = try await agents.runs.wait(started.id)
            #expect(run.status == .completed, "\(run.reason ?? "") \(run.errors)")
            #expect(run.finalMessage?.contains("I added hello.py.") == true, "\(run.finalMessage ?? "-")")
            #expect(run.usage.input > 0 && run.usage.output > 0, "\(run.usage)")
            #expect(run.costUSD > 0 && run.costSource == "agent", "\(run.costUSD) \(run.costSource ?? "-")")
            #expect(run.commands.contains { $0.contains("import hello") }, "\(run.commands)")
            #expect(run.filesChanged.contains("hello.py"), "\(run.filesChanged)")
            #expect(run.agentSession != nil)
            #expect((run.durationSeconds() ?? 0) > 0)

            let file = try await agents.sessions.sh(session.id, "cat /workspace/hello.py")
            #expect(file.stdout == "def hello():\n    return 'hi'\n")

            var events: [RunEvent] = []
            for await e in try await agents.runs.events(run.id) { events.append(e) }
            #expect(events.map(\.seq) == Array(1...events.count))
            #expect(events.contains { $0.kind == "tool_call" && $0.tool == "Write" })
            #expect(
                events.contains { $0.kind == "tool_result" && $0.tool == "Bash" && $0.text?.contains("hi") == true },
                "\(events.filter { $0.kind == "tool_result" })")
            #expect(events.last?.status == .completed)

            // The second prompt continues the same conversation: the model sees the first one.
            await agents.model.enqueue([.say("Still here.")])
            let second = try await agents.runs.wait(
                try await agents.runs.start(session: session.id, prompt: "Anything else?").id)
            #expect(second.status == .completed, "\(second.reason ?? "") \(second.errors)")
            #expect(second.finalMessage == "Still here.")
            // The prompt named no model: the record has the one Claude Code said it uses.
            #expect(second.model?.hasPrefix("claude-") == true, "\(second.model ?? "-")")
            // Claude Code reports the conversation's cost so far; the run's cost is only its own model call.
            #expect(second.costUSD > 0 && second.costUSD < run.costUSD, "\(second.costUSD) vs \(run.costUSD)")
            #expect(second.agentCostTotal.map { abs($0 - run.costUSD - second.costUSD) < 1e-9 } == true)
            let requests = await agents.model.requests()
            let last = try #require(requests.last)
            #expect(last.body.contains("Add a hello function") && last.body.contains("Anything else?"))

            // The real key reached the model server on every request; the placeholder never did, and the
            // sandbox only ever held the placeholder.
            #expect(!requests.isEmpty)
            // With telemetry and non-essential traffic off, Claude Code only calls the Messages API.
            #expect(Set(requests.map(\.path)) == ["/v1/messages"], "\(requests.map(\.path))")
            for r in requests {
                #expect(r.headers["x-api-key"] == agents.apiKey)
                #expect(!r.body.contains(placeholder) && !r.headers.values.contains { $0.contains(placeholder) })
            }
            let inside = try await agents.sessions.sh(
                session.id,
                "env; grep -rl '\(agents.apiKey)' /home/user /workspace /tmp 2>/dev/null; echo end")
            #expect(!inside.stdout.contains(agents.apiKey))
            #expect(inside.stdout.contains("ANTHROPIC_API_KEY=\(placeholder)"))

            let listed = try await agents.runs.list(session: session.id)
            #expect(listed.map(\.id) == [second.id, run.id])
            let usage = try await agents.runs.usage(since: nil)
            #expect(usage.runs == 2 && usage.sessions.first?.key == session.id.rawValue)

            let trail = String(
                decoding: try await #require(await agents.sessions.audit).export(session: session.id), as: UTF8.self)
            #expect(trail.contains("\"run.start\"") && trail.contains("\"run.finish\""))
        }
    }

    @Test func aDeniedCommandIsRefusedAndTheAgentGoesOn() async throws {
        try Self.requireClaude()
        let denied = ScriptedModelServer.Turn.tool(
            "Bash", input: #"{"command":"curl --version","description":"check curl"}"#)
        try await Self.with("agent-deny", script: [denied, .say("curl is not allowed here; carrying on.")]) { agents in
            let policy = PolicyText(
                text: """
                    version: 1
                    guardrails:
                      commands: {default: allow, deny: [curl]}
                    """, file: "runtime.yml")
            let session = try await agents.sessions.create(agents.sessionSpec(), policy: policy)
            let run = try await agents.runs.wait(
                try await agents.runs.start(session: session.id, prompt: "Is curl there?").id)
            #expect(run.status == .completed, "\(run.reason ?? "") \(run.errors)")
            #expect(run.finalMessage?.contains("carrying on") == true)
            var results: [RunEvent] = []
            for await e in try await agents.runs.events(run.id) where e.kind == "tool_result" { results.append(e) }
            let curl = try #require(results.first { $0.tool == "Bash" })
            #expect(curl.isError == true && curl.text?.contains("not permitted") == true, "\(curl.text ?? "")")
            #expect(run.commands == ["curl --version"])
            #expect(run.refused == ["curl --version"], "\(run.refused)")
            #expect(curl.text?.contains("curl 8") != true && curl.text?.contains("libcurl") != true)
        }
    }

    @Test func aRunOverItsTokenLimitIsStopped() async throws {
        try Self.requireClaude()
        let sleep = ScriptedModelServer.Turn.tool("Bash", input: #"{"command":"sleep 60","description":"wait"}"#)
        try await Self.with("agent-limit", script: [sleep, .say("never")], configure: { $0.limits.maxTokens = 50 }) {
            agents in
            let session = try await agents.sessions.create(agents.sessionSpec())
            let run = try await agents.runs.wait(
                try await agents.runs.start(session: session.id, prompt: "Wait a minute").id)
            #expect(run.status == .failed)
            #expect(run.reason?.contains("over its limit of 50") == true, "\(run.reason ?? "-")")
            #expect((run.durationSeconds() ?? 99) < 30)
            let left = try await agents.sessions.sh(session.id, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
            #expect(!left.stdout.contains("sleep 60"), "\(left.stdout)")
        }
    }

    /// The scripted server's OpenAI side, from a real client (Python's urllib) in a sandbox through the gateway.
    @Test func theScriptedServerSpeaksOpenAIChatCompletions() async throws {
        let call = ScriptedModelServer.Turn.tool("run_tests", input: #"{"path":"tests"}"#)
        try await Self.with("agent-openai", script: [call, .say("all green")]) { agents in
            let session = try await agents.openAISession()
            let script = """
                import json, os, urllib.request
                def ask(stream):
                    body = json.dumps({'model': 'gpt-test', 'stream': stream, 'messages': [{'role': 'user',
                        'content': 'test it'}], 'tools': [{'type': 'function', 'function': {'name': 'run_tests'}}]})
                    r = urllib.request.Request('\(agents.model.baseURL)/v1/chat/completions', data=body.encode(),
                        headers={'Authorization': 'Bearer ' + os.environ['OPENAI_API_KEY'],
                                 'Content-Type': 'application/json'})
                    return urllib.request.urlopen(r, timeout=20).read().decode()
                whole = json.loads(ask(False))
                call = whole['choices'][0]['message']['tool_calls'][0]['function']
                print(call['name'], json.loads(call['arguments'])['path'], whole['choices'][0]['finish_reason'])
                text = ''
                for line in ask(True).splitlines():
                    if line.startswith('data: ') and line != 'data: [DONE]':
                        for choice in json.loads(line[6:])['choices']:
                            text += choice['delta'].get('content') or ''
                print(text)
                """
            let out = try await agents.sessions.run(
                session.id, ["python3", "-c", script], env: ["NO_PROXY": "", "no_proxy": ""])
            #expect(out.stdout == "run_tests tests tool_calls\nall green\n", "\(out.stdout) \(out.stderr)")
            for r in await agents.model.requests() {
                #expect(r.headers["authorization"] == "Bearer \(agents.apiKey)")
            }
        }
    }

    static let echoAgent = AgentDefinition(
        name: "echo", kind: .command,
        argv: ["/bin/sh", "-c", "echo \"got: $0\"; echo done > /workspace/out.txt; echo finished", "{prompt}"])
    static let slowAgent = AgentDefinition(
        name: "slow", kind: .command, argv: ["/bin/sh", "-c", "echo \"started $0\"; sleep 300; echo late", "{prompt}"])

    @Test func theCommandAgentRunsAnyCLIWithThePrompt() async throws {
        try await Self.with("agent-command", configure: { $0.agents["echo"] = Self.echoAgent }) { agents in
            let session = try await agents.sessions.create(SessionSpec())
            let run = try await agents.runs.wait(
                try await agents.runs.start(session: session.id, prompt: "-- tricky 'prompt'", agent: "echo").id)
            #expect(run.status == .completed, "\(run.reason ?? "")")
            #expect(run.finalMessage == "got: -- tricky 'prompt'\nfinished")
            #expect(run.filesChanged == ["out.txt"])
            #expect(run.costUSD == 0 && run.exitCode == 0)

            await #expect(throws: PaddockError.self) {
                try await agents.runs.start(session: session.id, prompt: "x", agent: "nope")
            }
            // claude-code needs the key's placeholder in the session.
            let error = await #expect(throws: PaddockError.self) {
                try await agents.runs.start(session: session.id, prompt: "x")
            }
            #expect(error?.message.contains("--secret ANTHROPIC_API_KEY") == true)
        }
    }

    @Test func cancelStopsTheRunAndAWatcherThatLeftCanReattach() async throws {
        try await Self.with("agent-cancel", configure: { $0.agents["slow"] = Self.slowAgent }) { agents in
            let session = try await agents.sessions.create(SessionSpec())
            let run = try await agents.runs.start(session: session.id, prompt: "go", agent: "slow")
            // A first watcher sees the start and leaves (a client disconnect); the run goes on.
            var first: [RunEvent] = []
            for await e in try await agents.runs.events(run.id) {
                first.append(e)
                if e.kind == "text" { break }
            }
            #expect(first.last?.text == "started go")
            let busy = await #expect(throws: PaddockError.self) {
                try await agents.runs.start(session: session.id, prompt: "again", agent: "slow")
            }
            #expect(busy?.code == .conflict)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await agents.runs.get(run.id).status == .running)

            // A second watcher gets everything again from the start, then the end.
            let replay = Task {
                var events: [RunEvent] = []
                for await e in try await agents.runs.events(run.id) { events.append(e) }
                return events
            }
            try await Task.sleep(for: .milliseconds(200))
            let cancelled = try await agents.runs.cancel(run.id, by: "tester")
            #expect(cancelled.status == .cancelled)
            #expect(cancelled.reason == "cancelled by tester")
            let events = try await replay.value
            #expect(Array(events.prefix(first.count)) == first)
            #expect(events.last?.status == .cancelled)
            let left = try await agents.sessions.sh(session.id, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
            #expect(!left.stdout.contains("sleep 300"), "\(left.stdout)")
            let trail = String(
                decoding: try await #require(await agents.sessions.audit).export(session: session.id), as: UTF8.self)
            #expect(trail.contains("\"run.cancel\""))
        }
    }

    @Test func aRunWaitsForAnApprovalAndRecordsIt() async throws {
        let asking = AgentDefinition(
            name: "asking", kind: .command, argv: ["/bin/sh", "-c", "touch /workspace/asked && echo after", "{prompt}"])
        try await Self.with("agent-approval", configure: { $0.agents["asking"] = asking }) { agents in
            let policy = PolicyText(
                text: """
                    version: 1
                    guardrails:
                      commands: {default: allow, ask: [touch]}
                    """, file: "runtime.yml")
            let session = try await agents.sessions.create(SessionSpec(), policy: policy)
            let run = try await agents.runs.start(session: session.id, prompt: "go", agent: "asking")
            let deadline = ContinuousClock.now + .seconds(20)
            while try await agents.runs.get(run.id).status != .awaitingApproval, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await agents.runs.get(run.id).status == .awaitingApproval)
            let pending = try await agents.sessions.guardrails.approvals.list(
                session: session.id, includeAnswered: false)
            let approval = try #require(pending.first)
            _ = try await agents.sessions.guardrails.approvals.answer(
                id: approval.id, approve: true, by: "tester", note: nil)
            let done = try await agents.runs.wait(run.id)
            #expect(done.status == .completed, "\(done.reason ?? "")")
            #expect(done.approvals == [approval.id])
            #expect(done.finalMessage == "after" && done.filesChanged == ["asked"])
            var statuses: [Run.Status] = []
            for await e in try await agents.runs.events(run.id) { if let s = e.status { statuses.append(s) } }
            // Back to `running` shows only when the agent goes on long enough for the watcher to see it.
            #expect(Array(statuses.prefix(2)) == [.running, .awaitingApproval] && statuses.last == .completed)
        }
    }

    @Test func budgetsAndDurationLimits() async throws {
        try await Self.with(
            "agent-budget",
            configure: {
                $0.agents["slow"] = Self.slowAgent
                $0.agents["echo"] = Self.echoAgent
                $0.defaultTeamBudget = 5
                $0.limits.maxSeconds = 1
            }
        ) { agents in
            let session = try await agents.sessions.create(SessionSpec())
            let slow = try await agents.runs.wait(
                try await agents.runs.start(session: session.id, prompt: "go", agent: "slow").id)
            #expect(slow.status == .timedOut)
            #expect(slow.reason?.contains("limit of 1s") == true, "\(slow.reason ?? "-")")

            // Earlier spending this month puts the (team-less) sessions over their $5 budget.
            var earlier = Run(
                id: Run.makeID(), session: session.id, team: nil, createdBy: "tester", prompt: "earlier",
                agent: "claude-code", model: nil, createdAt: Date())
            earlier.status = .completed
            earlier.costUSD = 5.5
            try await agents.stack.store.insertRun(earlier)
            let refused = await #expect(throws: PaddockError.self) {
                try await agents.runs.start(session: session.id, prompt: "more", agent: "echo")
            }
            #expect(refused?.code == .permissionDenied)
            #expect(refused?.message.contains("monthly agent budget") == true, "\(refused?.message ?? "-")")
        }
    }
}
