import Foundation
import PaddockCore

/// Parses Claude Code's `--output-format stream-json --verbose` lines: `system/init` (its session id),
/// `assistant` messages (text and `tool_use` blocks, with the call's usage), `user` messages carrying
/// `tool_result` blocks, and the closing `result` (usage of the whole run, `total_cost_usd`, `is_error`).
/// Unknown types and fields are ignored: the format grows between releases.
struct ClaudeCodeParser: AgentOutputParser {
    /// Usage already counted per assistant message id (a message comes as several lines with the same usage).
    private var countedMessages: Set<String> = []
    /// Tool names by tool_use id, to name the results.
    private var toolNames: [String: String] = [:]
    private var sawResult = false
    /// The last assistant text, the final answer when no result line comes.
    private var lastText: String?

    static let fileTools: Set<String> = ["Write", "Edit", "MultiEdit", "NotebookEdit"]

    mutating func consume(line: String) -> AgentOutput {
        var out = AgentOutput()
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let type = object["type"] as? String
        else {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { out.events.append(RunEvent(run: "", at: Date(), kind: "text", text: trimmed)) }
            return out
        }
        if let session = object["session_id"] as? String { out.agentSession = session }
        if type == "system", object["subtype"] as? String == "init", let model = object["model"] as? String {
            out.model = model
        }
        switch type {
        case "assistant": assistant(object, into: &out)
        case "user": user(object, into: &out)
        case "result": result(object, into: &out)
        default: break
        }
        return out
    }

    mutating func finish(exitCode: Int32) -> AgentOutput {
        var out = AgentOutput()
        if !sawResult {
            out.finalMessage = lastText
            out.failure =
                exitCode == 0
                ? "Claude Code ended without a result line" : "Claude Code exited with status \(exitCode)"
        }
        return out
    }

    private mutating func assistant(_ object: [String: Any], into out: inout AgentOutput) {
        guard let message = object["message"] as? [String: Any] else { return }
        for block in message["content"] as? [[String: Any]] ?? [] {
            switch block["type"] as? String {
            case "text":
                guard let text = block["text"] as? String, !text.isEmpty else { continue }
                lastText = text
                out.events.append(RunEvent(run: "", at: Date(), kind: "text", text: text))
            case "tool_use":
                let name = block["name"] as? String ?? "tool"
                let id = block["id"] as? String
                let input = block["input"] as? [String: Any] ?? [:]
                if let id { toolNames[id] = name }
                out.events.append(
                    RunEvent(
                        run: "", at: Date(), kind: "tool_call", text: Self.summary(name, input), tool: name, toolID: id,
                        input: Self.json(input)))
                if name == "Bash", let command = input["command"] as? String { out.commands.append(command) }
                if Self.fileTools.contains(name), let path = (input["file_path"] ?? input["notebook_path"]) as? String {
                    out.files.append(path)
                }
            default: continue
            }
        }
        if let id = message["id"] as? String, let usage = Self.usage(message["usage"]), !countedMessages.contains(id) {
            countedMessages.insert(id)
            out.usageDelta = usage
            out.events.append(RunEvent(run: "", at: Date(), kind: "usage", usage: usage))
        }
    }

    private func user(_ object: [String: Any], into out: inout AgentOutput) {
        guard let message = object["message"] as? [String: Any],
            let content = message["content"] as? [[String: Any]]
        else { return }
        for block in content where block["type"] as? String == "tool_result" {
            let id = block["tool_use_id"] as? String
            let text: String
            if let s = block["content"] as? String {
                text = s
            } else {
                text = (block["content"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
                    .joined(separator: "\n")
            }
            out.events.append(
                RunEvent(
                    run: "", at: Date(), kind: "tool_result", text: String(text.prefix(16 << 10)),
                    tool: id.flatMap { toolNames[$0] }, toolID: id, isError: block["is_error"] as? Bool ?? false))
        }
    }

    private mutating func result(_ object: [String: Any], into out: inout AgentOutput) {
        sawResult = true
        out.finalUsage = Self.usage(object["usage"])
        out.costUSD = (object["total_cost_usd"] as? NSNumber)?.doubleValue
        let text = object["result"] as? String
        out.finalMessage = text ?? lastText
        if object["is_error"] as? Bool == true {
            out.failure = Self.failure(subtype: object["subtype"] as? String, text: text)
            out.events.append(RunEvent(run: "", at: Date(), kind: "error", text: out.failure))
        }
        if let text { out.events.append(RunEvent(run: "", at: Date(), kind: "final", text: text)) }
    }

    /// What went wrong, in plain words: the result's subtype names a few stops (a model error comes as
    /// `success` with `is_error`, its text the API's message).
    static func failure(subtype: String?, text: String?) -> String {
        let what =
            switch subtype {
            case "error_max_turns": "Claude Code stopped at its limit of turns"
            case "error_during_execution": "Claude Code failed while it ran"
            case "error_max_budget_usd": "Claude Code stopped at its budget"
            default: "Claude Code failed"
            }
        guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return what }
        return what + ": " + text.prefix(500)
    }

    static func usage(_ value: Any?) -> TokenUsage? {
        guard let u = value as? [String: Any] else { return nil }
        func int(_ key: String) -> Int { (u[key] as? NSNumber)?.intValue ?? 0 }
        return TokenUsage(
            input: int("input_tokens"), output: int("output_tokens"), cacheRead: int("cache_read_input_tokens"),
            cacheWrite: int("cache_creation_input_tokens"))
    }

    static func json(_ value: [String: Any]) -> String? {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// One line saying what a tool call does: the command, the file, or the tool's name.
    static func summary(_ name: String, _ input: [String: Any]) -> String {
        if let command = input["command"] as? String { return "\(name): \(command)" }
        if let path = (input["file_path"] ?? input["notebook_path"] ?? input["path"]) as? String {
            return "\(name): \(path)"
        }
        return name
    }
}
