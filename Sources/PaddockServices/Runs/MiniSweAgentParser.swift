import Foundation
import PaddockCore

/// Reads mini-swe-agent's trajectory (format `mini-swe-agent-1.1`), which its command line prints as one line
/// after `AgentDefinition.miniSweAgentTrajectoryMarker` when it exits: `messages` (assistant messages with
/// their `bash` tool calls in `extra.actions` and the model's raw `extra.response` with its usage, `tool`
/// messages with the command's output in `extra.raw_output` and `extra.returncode`, and a closing `exit`
/// message) and `info` (`exit_status`, `submission`, `model_stats.instance_cost`). Other stdout lines are
/// text. Unknown fields are ignored.
struct MiniSweAgentParser: AgentOutputParser {
    private var sawTrajectory = false

    mutating func consume(line: String) -> AgentOutput {
        var out = AgentOutput()
        let marker = AgentDefinition.miniSweAgentTrajectoryMarker
        guard line.hasPrefix(marker) else {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { out.events.append(RunEvent(run: "", at: Date(), kind: "text", text: trimmed)) }
            return out
        }
        guard
            let trajectory = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(marker.count).utf8))
                as? [String: Any]
        else {
            out.failure = "mini-swe-agent's trajectory is not JSON"
            return out
        }
        sawTrajectory = true
        Self.read(trajectory, into: &out)
        return out
    }

    mutating func finish(exitCode: Int32) -> AgentOutput {
        var out = AgentOutput()
        if !sawTrajectory {
            out.failure =
                exitCode == 0
                ? "mini-swe-agent wrote no trajectory" : "mini-swe-agent exited with status \(exitCode)"
        }
        return out
    }

    private static func read(_ trajectory: [String: Any], into out: inout AgentOutput) {
        var usage = TokenUsage()
        var lastText: String?
        var commands: [String: String] = [:]
        for message in trajectory["messages"] as? [[String: Any]] ?? [] {
            let extra = message["extra"] as? [String: Any] ?? [:]
            // Every model call's raw response is kept: on the assistant message, or on the format-error
            // message mini-swe-agent adds when an answer had no usable tool call.
            if let call = Self.usage((extra["response"] as? [String: Any])?["usage"]) {
                usage = usage + call
                out.events.append(RunEvent(run: "", at: Date(), kind: "usage", usage: call))
            }
            switch message["role"] as? String {
            case "assistant":
                if let text = message["content"] as? String,
                    case let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty
                {
                    lastText = trimmed
                    out.events.append(RunEvent(run: "", at: Date(), kind: "text", text: trimmed))
                }
                for action in extra["actions"] as? [[String: Any]] ?? [] {
                    guard let command = action["command"] as? String else { continue }
                    let id = action["tool_call_id"] as? String
                    if let id { commands[id] = command }
                    out.commands.append(command)
                    out.events.append(
                        RunEvent(
                            run: "", at: Date(), kind: "tool_call", text: "bash: \(command)", tool: "bash", toolID: id,
                            input: Self.json(["command": command])))
                }
            case "tool":
                var output = extra["raw_output"] as? String ?? message["content"] as? String ?? ""
                if output.isEmpty, let problem = extra["exception_info"] as? String { output = problem }
                let code = (extra["returncode"] as? NSNumber)?.intValue ?? 0
                out.events.append(
                    RunEvent(
                        run: "", at: Date(), kind: "tool_result", text: String(output.prefix(16 << 10)), tool: "bash",
                        toolID: message["tool_call_id"] as? String, isError: code != 0))
            default: continue
            }
        }
        out.finalUsage = usage
        let info = trajectory["info"] as? [String: Any] ?? [:]
        if let cost = ((info["model_stats"] as? [String: Any])?["instance_cost"] as? NSNumber)?.doubleValue,
            cost > 0
        {
            out.costUSD = cost
        }
        let submission = (info["submission"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        out.finalMessage = submission.isEmpty ? lastText : submission
        if let final = out.finalMessage { out.events.append(RunEvent(run: "", at: Date(), kind: "final", text: final)) }
        let status = info["exit_status"] as? String ?? ""
        if status != "Submitted" {
            let last = (trajectory["messages"] as? [[String: Any]])?.last?["content"] as? String ?? ""
            out.failure =
                "mini-swe-agent stopped with \(status.isEmpty ? "no exit status" : status)"
                + (last.isEmpty ? "" : ": \(last.prefix(500))")
            out.events.append(RunEvent(run: "", at: Date(), kind: "error", text: out.failure))
        }
    }

    /// An OpenAI usage object: `prompt_tokens` counts the cached ones too, which are reported apart.
    static func usage(_ value: Any?) -> TokenUsage? {
        guard let u = value as? [String: Any] else { return nil }
        let prompt = (u["prompt_tokens"] as? NSNumber)?.intValue ?? 0
        let output = (u["completion_tokens"] as? NSNumber)?.intValue ?? 0
        let details = u["prompt_tokens_details"] as? [String: Any]
        let cached = min(prompt, (details?["cached_tokens"] as? NSNumber)?.intValue ?? 0)
        return TokenUsage(input: prompt - cached, output: output, cacheRead: cached)
    }

    static func json(_ value: [String: Any]) -> String? {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
