import Foundation
import PaddockCore
import Testing

@testable import PaddockServices

/// `codex exec --json` lines as Codex 0.147 prints them, read into run records; and its command line.
struct CodexParserTests {
    static let lines = [
        #"{"type":"thread.started","thread_id":"01a24db8-8bbc-77f0-9e37-d0f7101cfd9d"}"#,
        #"{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `gpt-test` not found."}}"#,
        #"{"type":"turn.started"}"#,
        #"{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'echo hi > hello.txt && cat hello.txt'","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#,
        #"{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'echo hi > hello.txt && cat hello.txt'","aggregated_output":"hi\n","exit_code":0,"status":"completed"}}"#,
        #"{"type":"item.started","item":{"id":"item_2","type":"command_execution","command":"/bin/bash -lc 'exit 3'","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#,
        #"{"type":"item.completed","item":{"id":"item_2","type":"command_execution","command":"/bin/bash -lc 'exit 3'","aggregated_output":"","exit_code":3,"status":"failed"}}"#,
        #"{"type":"item.completed","item":{"id":"item_3","type":"file_change","changes":[{"path":"/workspace/a.py","kind":"add"}],"status":"completed"}}"#,
        #"{"type":"item.completed","item":{"id":"item_4","type":"agent_message","text":"I wrote hello.txt."}}"#,
        #"{"type":"turn.completed","usage":{"input_tokens":450,"cached_input_tokens":90,"cache_write_input_tokens":0,"output_tokens":60,"reasoning_output_tokens":0}}"#,
        #"{"type":"paddock.model","model":"gpt-5.6-sol"}"#,
    ]

    @Test func aTurnBecomesTheRunRecord() {
        var parser = CodexParser()
        var outs = Self.lines.map { parser.consume(line: $0) }
        outs.append(parser.finish(exitCode: 0))
        #expect(outs.compactMap(\.agentSession) == ["01a24db8-8bbc-77f0-9e37-d0f7101cfd9d"])
        #expect(outs.flatMap(\.commands) == ["echo hi > hello.txt && cat hello.txt", "exit 3"])
        #expect(outs.flatMap(\.files) == ["/workspace/a.py"])
        #expect(outs.compactMap(\.conversationUsage) == [TokenUsage(input: 360, output: 60, cacheRead: 90)])
        #expect(outs.compactMap(\.finalMessage) == ["I wrote hello.txt."])
        #expect(outs.compactMap(\.model) == ["gpt-5.6-sol"])
        #expect(outs.compactMap(\.failure).isEmpty)
        let events = outs.flatMap(\.events)
        #expect(events.filter { $0.kind == "tool_call" }.map(\.tool) == ["shell", "shell", "apply_patch"])
        let results = events.filter { $0.kind == "tool_result" }
        #expect(results.map(\.isError) == [false, true, false])
        #expect(results.first?.text == "hi\n" && results[1].text == "exit status 3")
        // A warning item does not fail the run.
        #expect(events.contains { $0.kind == "text" && $0.text?.hasPrefix("Codex warns:") == true })
        #expect(!events.contains { $0.kind == "error" })
    }

    @Test func failuresReadPlainly() {
        var parser = CodexParser()
        _ = parser.consume(line: #"{"type":"error","message":"unexpected status 401 Unauthorized"}"#)
        let failed = parser.consume(line: #"{"type":"turn.failed","error":{"message":"unexpected status 401"}}"#)
        #expect(failed.failure == "Codex failed: unexpected status 401")
        var cut = CodexParser()
        _ = cut.consume(line: #"{"type":"error","message":"stream disconnected"}"#)
        #expect(cut.finish(exitCode: 1).failure == "Codex exited with status 1: stream disconnected")
        #expect(
            ClaudeCodeParser.failure(subtype: "success", text: "API Error: 500") == "Claude Code failed: API Error: 500"
        )
    }

    @Test func scriptsAreUnwrappedFromTheirShell() {
        #expect(CodexParser.script(of: "/bin/bash -lc 'cd /w && make'") == "cd /w && make")
        #expect(CodexParser.script(of: #"bash -lc "echo \"hi\"""#) == #"echo "hi""#)
        #expect(CodexParser.script(of: "bash -lc 'it'\\''s'") == "it's")
        #expect(CodexParser.script(of: "ls -la") == "ls -la")
    }

    @Test func theCommandLineTurnsCodexSandboxOffAndPointsItAtTheGateway() {
        let codex = AgentDefinition.codex(env: ["OPENAI_BASE_URL": "https://127.0.0.1:9/v1"])
        let line = codex.commandLine(prompt: "-x", model: "gpt-test", resume: "abc-1")
        #expect(Array(line.prefix(4)) == ["/bin/sh", "-c", line[2], "codex"])
        let args = Array(line.dropFirst(4))
        #expect(Array(args.prefix(4)) == [AgentDefinition.codexSandboxPath, "exec", "resume", "abc-1"])
        #expect(args.contains("--dangerously-bypass-approvals-and-sandbox") && args.contains("--json"))
        #expect(args.contains("model_providers.paddock.base_url=\"https://127.0.0.1:9/v1\""))
        #expect(Array(args.suffix(4)) == ["--model", "gpt-test", "--", "-x"])
        #expect(line[2].contains("</dev/null") && !line[2].contains("turn_context"))
        // With no model named, the wrapper reports the one Codex used.
        #expect(codex.commandLine(prompt: "x", model: nil, resume: nil)[2].contains("turn_context"))
    }
}
