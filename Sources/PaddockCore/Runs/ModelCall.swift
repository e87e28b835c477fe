import Foundation

/// One model API call the egress gateway saw and metered from its response: who made it (session, run, team,
/// project), which model, the tokens, what it cost by the price table, how long it took and how it ended.
/// Prompts and completions are never kept.
public struct ModelCall: Codable, Sendable, Equatable {
    public var at: Date
    public var session: SessionID
    public var run: String?
    public var team: String?
    public var project: String?
    /// `anthropic.messages`, `openai.chat_completions`, `openai.responses`.
    public var api: String
    public var host: String
    public var model: String?
    public var usage: TokenUsage
    public var costUSD: Double
    public var latencyMilliseconds: Int
    /// The HTTP status the model API answered (or the gateway's own refusal).
    public var status: Int?
    /// False when the response carried no usage the gateway could read.
    public var metered: Bool

    enum CodingKeys: String, CodingKey {
        case at, session, run, team, project, api, host, model, usage
        case costUSD = "costUsd"
        case latencyMilliseconds = "latencyMs"
        case status, metered
    }

    public init(
        at: Date, session: SessionID, run: String?, team: String?, project: String?, api: String, host: String,
        model: String?, usage: TokenUsage, costUSD: Double, latencyMilliseconds: Int, status: Int?, metered: Bool
    ) {
        self.at = at
        self.session = session
        self.run = run
        self.team = team
        self.project = project
        self.api = api
        self.host = host
        self.model = model
        self.usage = usage
        self.costUSD = costUSD
        self.latencyMilliseconds = latencyMilliseconds
        self.status = status
        self.metered = metered
    }
}

/// Gateway-metered model calls added up: how many, their tokens and their cost.
public struct MeteredUsage: Codable, Sendable, Equatable {
    public var calls: Int
    public var usage: TokenUsage
    public var costUSD: Double

    enum CodingKeys: String, CodingKey {
        case calls, usage
        case costUSD = "costUsd"
    }

    public init(calls: Int = 0, usage: TokenUsage = TokenUsage(), costUSD: Double = 0) {
        self.calls = calls
        self.usage = usage
        self.costUSD = costUSD
    }

    public mutating func add(_ call: ModelCall) {
        calls += 1
        usage = usage + call.usage
        costUSD += call.costUSD
    }
}
