import Foundation
import PaddockCore

/// Parses `codex exec --json` lines: `thread.started` (the conversation id `codex exec resume` takes),
/// `item.started` / `item.completed` for its items (`agent_message`, `command_execution`, `file_change`,
/// `mcp_tool_call`, `web_search`, `error`…), `turn.completed` with the turn's usage, and `turn.failed` /
/// `error`. Unknown types and fields are ignored: the format grows between releases.
struct CodexParser: AgentOutputParser {
    /// Items whose call was already recorded when they started, by item id.
    private var started: Set<String> = []
    private var ended = false
    private var lastText: String?
    /// The last `error` line: why the run failed when no turn line comes.
    private var lastError: String?

    /// A JSON event line as an object; nil for anything else, which Codex prints too (its warnings, a banner)
    /// and which the run keeps as text.
    static func jsonObject(_ line: String) -> [String: Any]? {
        do { return try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] } catch { return nil }
    }

    mutating func consume(line: String) -> AgentOutput {
        var out = AgentOutput()
        guard let object = Self.jsonObject(line), let type = object["type"] as? String else {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { out.events.append(RunEvent(run: "", at: Date(), kind: "text", text: trimmed)) }
            return out
        }
        switch type {
        case "thread.started": out.agentSession = object["thread_id"] as? String
        case AgentDefinition.codexModelLine: out.model = object["model"] as? String
        case "item.started":
            if let item = object["item"] as? [String: Any] { itemStarted(item, into: &out) }
        case "item.completed":
            if let item = object["item"] as? [String: Any] { itemCompleted(item, into: &out) }
        case "turn.completed":
            ended = true
            // The usage of the whole thread so far: a resumed conversation's earlier prompts included.
            out.conversationUsage = Self.usage(object["usage"])
            out.finalMessage = lastText
            if let lastText { out.events.append(RunEvent(run: "", at: Date(), kind: "final", text: lastText)) }
        case "turn.failed":
            ended = true
            let message = (object["error"] as? [String: Any])?["message"] as? String ?? lastError ?? "no reason given"
            out.failure = "Codex failed: \(message.prefix(500))"
            out.finalMessage = lastText
            if let usage = Self.usage(object["usage"]) { out.conversationUsage = usage }
            out.events.append(RunEvent(run: "", at: Date(), kind: "error", text: out.failure))
        case "error":
            // Also sent for a retried model call ("Reconnecting… 1/5"): a failure only if no turn ends.
            if let message = object["message"] as? String {
                lastError = message
                out.events.append(RunEvent(run: "", at: Date(), kind: "error", text: message))
            }
        default: break
        }
        return out
    }

    mutating func finish(exitCode: Int32) -> AgentOutput {
        var out = AgentOutput()
        if !ended {
            out.finalMessage = lastText
            let why = lastError.map { ": \($0.prefix(500))" } ?? ""
            out.failure =
                exitCode == 0
                ? "Codex ended without finishing its turn\(why)" : "Codex exited with status \(exitCode)\(why)"
        }
        return out
    }

    private mutating func itemStarted(_ item: [String: Any], into out: inout AgentOutput) {
        guard let id = item["id"] as? String, Self.isCall(item) else { return }
        started.insert(id)
        call(item, into: &out)
    }

    private mutating func itemCompleted(_ item: [String: Any], into out: inout AgentOutput) {
        let id = item["id"] as? String
        switch item["type"] as? String {
        case "agent_message":
            guard let text = item["text"] as? String, !text.isEmpty else { return }
            lastText = text
            out.events.append(RunEvent(run: "", at: Date(), kind: "text", text: text))
        case "error":
            // A warning the turn went on after (a model without metadata, a feature unavailable).
            if let message = item["message"] as? String {
                out.events.append(RunEvent(run: "", at: Date(), kind: "text", text: "Codex warns: \(message)"))
            }
        default:
            guard Self.isCall(item) else { return }
            if id.map({ !started.contains($0) }) ?? true { call(item, into: &out) }
            out.events.append(Self.result(item))
        }
    }

    static func isCall(_ item: [String: Any]) -> Bool {
        ["command_execution", "file_change", "mcp_tool_call", "web_search"].contains(item["type"] as? String ?? "")
    }

    /// The `tool_call` event of an item, and the command or files it names for the run's record.
    private func call(_ item: [String: Any], into out: inout AgentOutput) {
        let (tool, input, summary) = Self.describe(item)
        out.events.append(
            RunEvent(
                run: "", at: Date(), kind: "tool_call", text: summary, tool: tool, toolID: item["id"] as? String,
                input: ClaudeCodeParser.json(input)))
        switch item["type"] as? String {
        case "command_execution":
            if let command = item["command"] as? String { out.commands.append(Self.script(of: command)) }
        case "file_change":
            for change in item["changes"] as? [[String: Any]] ?? [] {
                if let path = change["path"] as? String { out.files.append(path) }
            }
        default: break
        }
    }

    /// The tool's name, its input and a one-line summary, in the terms Claude Code's records use.
    static func describe(_ item: [String: Any]) -> (String, [String: Any], String) {
        switch item["type"] as? String {
        case "command_execution":
            let command = script(of: item["command"] as? String ?? "")
            return ("shell", ["command": command], "shell: \(command)")
        case "file_change":
            let changes = item["changes"] as? [[String: Any]] ?? []
            let paths = changes.compactMap { $0["path"] as? String }
            return ("apply_patch", ["changes": changes], "apply_patch: \(paths.joined(separator: ", "))")
        case "mcp_tool_call":
            let name = "\(item["server"] as? String ?? "mcp")/\(item["tool"] as? String ?? "tool")"
            return ("mcp:\(name)", ["arguments": item["arguments"] ?? NSNull()], "mcp: \(name)")
        default:
            let query = item["query"] as? String ?? ""
            return ("web_search", ["query": query], "web_search: \(query)")
        }
    }

    /// The `tool_result` event of a finished item.
    static func result(_ item: [String: Any]) -> RunEvent {
        let status = item["status"] as? String ?? "completed"
        var failed = status == "failed" || status == "declined"
        var text: String
        switch item["type"] as? String {
        case "command_execution":
            text = item["aggregated_output"] as? String ?? ""
            if let code = (item["exit_code"] as? NSNumber)?.intValue, code != 0 {
                failed = true
                if text.isEmpty { text = "exit status \(code)" }
            }
        case "mcp_tool_call":
            if let error = (item["error"] as? [String: Any])?["message"] as? String {
                failed = true
                text = error
            } else {
                text = (item["result"] as? [String: Any]).flatMap { ClaudeCodeParser.json($0) } ?? status
            }
        default: text = status
        }
        let (tool, _, _) = describe(item)
        return RunEvent(
            run: "", at: Date(), kind: "tool_result", text: String(text.prefix(16 << 10)), tool: tool,
            toolID: item["id"] as? String, isError: failed)
    }

    /// OpenAI counts cached tokens inside `input_tokens`; the record keeps them apart, as Anthropic does.
    static func usage(_ value: Any?) -> TokenUsage? {
        guard let u = value as? [String: Any] else { return nil }
        func int(_ key: String) -> Int { (u[key] as? NSNumber)?.intValue ?? 0 }
        let cached = int("cached_input_tokens")
        return TokenUsage(input: max(0, int("input_tokens") - cached), output: int("output_tokens"), cacheRead: cached)
    }

    /// The script of a command Codex ran through a shell (`bash -lc 'cd x && make'` → `cd x && make`), or the
    /// command as Codex printed it.
    static func script(of command: String) -> String {
        for shell in ["/bin/bash -lc ", "bash -lc ", "/bin/sh -c ", "sh -c ", "/usr/bin/bash -lc "]
        where command.hasPrefix(shell) {
            let rest = String(command.dropFirst(shell.count))
            return unquote(rest) ?? rest
        }
        return command
    }

    /// One POSIX shell word made of single- and double-quoted and bare parts; nil if it is more than one word.
    static func unquote(_ word: String) -> String? {
        var out = ""
        var quote: Character?
        var escaped = false
        for c in word {
            if escaped {
                out.append(c)
                escaped = false
            } else if let q = quote {
                if c == q {
                    quote = nil
                } else if c == "\\" && q == "\"" {
                    escaped = true
                } else {
                    out.append(c)
                }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "\\" {
                escaped = true
            } else if c == " " {
                return nil
            } else {
                out.append(c)
            }
        }
        return quote == nil && !escaped ? out : nil
    }
}
