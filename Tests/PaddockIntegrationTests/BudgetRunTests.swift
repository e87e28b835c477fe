import Foundation
import PaddockCore
import PaddockServices
import PaddockTestSupport
import Testing

/// Budgets end runs plainly: the real Claude Code in a real sandbox talks to the scripted model server through
/// the metering gateway; once its session's limit is spent the run ends `budget_exceeded` (not failed), the next
/// model call is refused at the gateway with the reason, and the sandbox keeps running.
@Suite(.needsSandboxes, .serialized)
struct BudgetRunTests {
    @Test func aSessionOverItsLimitEndsItsRunBudgetExceededAndKeepsItsSandbox() async throws {
        try AgentRunTests.requireClaude()
        let sleep = ScriptedModelServer.Turn.tool("Bash", input: #"{"command":"sleep 60","description":"wait"}"#)
        try await AgentTestStack.with(
            "agent-session-budget", apiKey: "sk-ant-api03-\(UUID().uuidString)\(UUID().uuidString)",
            script: [sleep, .say("never")], metering: true,
            configure: { configuration, _ in configuration.limits.maxSessionCostUSD = 0.0000001 }
        ) { agents in
            let session = try await agents.sessions.create(agents.sessionSpec())
            let started = try await agents.runs.start(
                session: session.id, prompt: "Wait a minute", model: "claude-sonnet-4-5", by: "tester")
            let run = try await agents.runs.wait(started.id)
            #expect(run.status == .budgetExceeded, "\(run.status) \(run.reason ?? "-")")
            #expect(run.reason?.contains("session \(session.id) spent") == true, "\(run.reason ?? "-")")
            #expect((run.metered?.calls ?? 0) >= 1, "\(String(describing: run.metered))")

            // The sandbox is untouched: it still runs commands, and the agent's sleep is gone with the agent.
            #expect(try await agents.sessions.get(session.id).state == .running)
            let left = try await agents.sessions.sh(session.id, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
            #expect(left.status.code == 0)
            #expect(!left.stdout.contains("sleep 60"), "\(left.stdout)")

            // A further model call from the sandbox is refused at the gateway, with the reason, as a 402.
            let script = """
                import os, urllib.request, urllib.error
                r = urllib.request.Request('\(agents.model.baseURL)/v1/messages', data=b'{"model":"claude-sonnet-4-5"}',
                    headers={'x-api-key': os.environ['ANTHROPIC_API_KEY'], 'content-type': 'application/json'})
                try:
                    urllib.request.urlopen(r, timeout=20)
                    print('allowed')
                except urllib.error.HTTPError as e:
                    print(e.code, e.read().decode())
                """
            let out = try await agents.sessions.run(
                session.id, ["python3", "-c", script], env: ["NO_PROXY": "", "no_proxy": ""])
            #expect(out.stdout.hasPrefix("402"), "\(out.stdout) \(out.stderr)")
            #expect(out.stdout.contains("limit on model calls"), "\(out.stdout)")
        }
    }
}
