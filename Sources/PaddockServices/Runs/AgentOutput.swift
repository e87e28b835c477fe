import Foundation
import PaddockCore

/// What an agent's output said, one line at a time, normalised for the run record.
struct AgentOutput: Sendable, Equatable {
    /// Events to append (run, seq and time are filled in by the service).
    var events: [RunEvent] = []
    /// Usage of a model call that just finished, to add to the running total.
    var usageDelta: TokenUsage?
    /// The agent's own final account of the whole run's usage; replaces the running total.
    var finalUsage: TokenUsage?
    /// The agent's account of its whole conversation's usage, earlier prompts included (Codex reports the
    /// thread's); the run's usage is its increase over what the conversation's earlier runs used.
    var conversationUsage: TokenUsage?
    var costUSD: Double?
    var agentSession: String?
    /// The model the agent says it uses: recorded on a run whose prompt named none.
    var model: String?
    var finalMessage: String?
    /// The agent said the run failed, and why.
    var failure: String?
    var commands: [String] = []
    var files: [String] = []
}

/// Turns an agent's stdout lines into `AgentOutput`. Each adapter has its own.
protocol AgentOutputParser: Sendable {
    mutating func consume(line: String) -> AgentOutput
    /// Called once when the process has exited, with its stdout's last partial line already consumed.
    mutating func finish(exitCode: Int32) -> AgentOutput
}

/// The generic `command` agent: every stdout line is text; the final message is the last lines it printed.
struct PlainTextParser: AgentOutputParser {
    private var tail: [String] = []

    mutating func consume(line: String) -> AgentOutput {
        tail.append(line)
        if tail.count > 20 { tail.removeFirst(tail.count - 20) }
        var out = AgentOutput()
        out.events.append(RunEvent(run: "", at: Date(), kind: "text", text: line))
        return out
    }

    mutating func finish(exitCode: Int32) -> AgentOutput {
        var out = AgentOutput()
        let text = tail.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        out.finalMessage = text.isEmpty ? nil : text
        if exitCode != 0 { out.failure = "the agent exited with status \(exitCode)" }
        return out
    }
}
