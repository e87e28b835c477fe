import Foundation

/// One prompt given to a coding agent in a session, and everything that came of it: the record `paddock runs
/// show` prints and budgets add up.
public struct Run: Codable, Sendable, Equatable, Identifiable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case queued
        case running
        /// A tool command of the agent waits for a person (`guardrails.commands.ask`).
        case awaitingApproval = "awaiting_approval"
        case completed
        case failed
        case timedOut = "timed_out"
        case cancelled
        /// A model call was refused at the gateway because a run, session or team budget was spent; the agent
        /// was stopped and the sandbox kept running.
        case budgetExceeded = "budget_exceeded"

        /// Whether the run is over (its process is gone).
        public var isFinished: Bool { [.completed, .failed, .timedOut, .cancelled, .budgetExceeded].contains(self) }
    }

    public var id: String
    public var session: SessionID
    public var team: String?
    /// The project the session was started from, kept on the run so usage per project outlives the session.
    public var project: String?
    /// Who started it (a user or token name).
    public var createdBy: String?
    public var prompt: String
    /// The adapter: `claude-code`, `command`, …
    public var agent: String
    public var model: String?
    public var status: Status
    /// Why the run ended the way it did (a limit, a cancel, the agent's error).
    public var reason: String?
    public var usage: TokenUsage
    /// US dollars.
    public var costUSD: Double
    /// Where the cost came from: `agent` (the agent reported it) or `price-table` (server config × tokens).
    public var costSource: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Tool commands the agent ran (from its tool calls and the session's exec guardrail).
    public var commands: [String]
    /// Programs the session's command guardrails refused while the run went (from `exec.guardrail` audit
    /// events), as `argv` joined by spaces.
    public var refused: [String]
    /// Requests the session's network policy refused while the run went (from `network.request` audit events),
    /// as `METHOD host:port — reason`; nil on records from before they were kept.
    public var refusedNetwork: [String]?
    /// Paths under the workspace the run created or modified.
    public var filesChanged: [String]
    /// Approval requests raised while the run was going.
    public var approvals: [String]
    public var errors: [String]
    /// The agent's last answer.
    public var finalMessage: String?
    /// The agent's own conversation id (Claude Code's `session_id`), so the next prompt continues it.
    public var agentSession: String?
    /// The agent's own running cost total for its conversation (Claude Code reports the whole conversation's,
    /// earlier prompts included); the run's `costUSD` is its increase over the previous run's.
    public var agentCostTotal: Double?
    public var exitCode: Int32?
    /// What the egress gateway metered of the run's model calls, beside what the agent reported (`usage`).
    public var metered: MeteredUsage?

    // `costUsd`: the API's snake_case coders turn `cost_usd` back into this, not into `costUSD`.
    enum CodingKeys: String, CodingKey {
        case id, session, team, project, createdBy, prompt, agent, model, status, reason, usage
        case costUSD = "costUsd"
        case costSource, createdAt, startedAt, finishedAt, commands, refused, refusedNetwork, filesChanged, approvals,
            errors, finalMessage
        case agentSession, agentCostTotal, exitCode, metered
    }

    public init(
        id: String, session: SessionID, team: String?, createdBy: String?, prompt: String, agent: String,
        model: String?, createdAt: Date
    ) {
        self.id = id
        self.session = session
        self.team = team
        self.createdBy = createdBy
        self.prompt = prompt
        self.agent = agent
        self.model = model
        self.status = .queued
        self.usage = TokenUsage()
        self.costUSD = 0
        self.createdAt = createdAt
        self.commands = []
        self.refused = []
        self.filesChanged = []
        self.approvals = []
        self.errors = []
    }

    /// Seconds from start to finish (or to now while running).
    public func durationSeconds(now: Date = Date()) -> Double? {
        startedAt.map { (finishedAt ?? now).timeIntervalSince($0) }
    }

    /// A new run id: `run_` and 16 lowercase hex digits.
    public static func makeID() -> String {
        "run_" + String(UInt64.random(in: 0...UInt64.max), radix: 16).leftPadded(to: 16)
    }
}

/// Tokens a run used, as the model API counts them.
public struct TokenUsage: Codable, Sendable, Equatable {
    public var input: Int
    public var output: Int
    public var cacheRead: Int
    public var cacheWrite: Int

    public init(input: Int = 0, output: Int = 0, cacheRead: Int = 0, cacheWrite: Int = 0) {
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
        self.cacheWrite = cacheWrite
    }

    public var total: Int { input + output + cacheRead + cacheWrite }

    public static func + (a: TokenUsage, b: TokenUsage) -> TokenUsage {
        TokenUsage(
            input: a.input + b.input, output: a.output + b.output, cacheRead: a.cacheRead + b.cacheRead,
            cacheWrite: a.cacheWrite + b.cacheWrite)
    }
}

/// One normalised thing that happened in a run, in order. Kinds: `status`, `text`, `tool_call`,
/// `tool_result`, `usage`, `error`, `final`. Decoded leniently: an unknown kind is kept as it is.
public struct RunEvent: Codable, Sendable, Equatable {
    public var run: String
    /// 1, 2, 3… within the run.
    public var seq: Int
    public var at: Date
    public var kind: String
    public var text: String?
    /// Tool name (`Bash`, `Write`) for tool calls and results.
    public var tool: String?
    public var toolID: String?
    /// The tool call's input as JSON text.
    public var input: String?
    public var isError: Bool?
    public var status: Run.Status?
    public var usage: TokenUsage?

    enum CodingKeys: String, CodingKey {
        case run, seq, at, kind, text, tool
        case toolID = "toolId"
        case input, isError, status, usage
    }

    public init(
        run: String, seq: Int = 0, at: Date, kind: String, text: String? = nil, tool: String? = nil,
        toolID: String? = nil, input: String? = nil, isError: Bool? = nil, status: Run.Status? = nil,
        usage: TokenUsage? = nil
    ) {
        self.run = run
        self.seq = seq
        self.at = at
        self.kind = kind
        self.text = text
        self.tool = tool
        self.toolID = toolID
        self.input = input
        self.isError = isError
        self.status = status
        self.usage = usage
    }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String {
        count >= n ? self : String(repeating: "0", count: n - count) + self
    }
}
