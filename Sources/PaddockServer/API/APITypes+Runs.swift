import Foundation
import PaddockCore

/// `POST /v1/sessions/{id}/runs`.
public struct CreateRunBody: Codable, Sendable {
    public var prompt: String
    /// An agent configured on the server; its default when absent.
    public var agent: String?
    public var model: String?

    public init(prompt: String, agent: String? = nil, model: String? = nil) {
        self.prompt = prompt
        self.agent = agent
        self.model = model
    }
}

/// `GET /v1/runs`.
public struct RunListBody: Codable, Sendable {
    public var runs: [Run]
    public init(runs: [Run]) { self.runs = runs }
}

/// `PUT /v1/teams/{team}/budget`: a monthly budget in dollars, or null to fall back to the server's default.
public struct TeamBudgetBody: Codable, Sendable {
    public var monthlyBudgetUSD: Double?
    enum CodingKeys: String, CodingKey { case monthlyBudgetUSD = "monthlyBudgetUsd" }
    public init(monthlyBudgetUSD: Double?) { self.monthlyBudgetUSD = monthlyBudgetUSD }
}

/// `GET /v1/teams/{team}/budget`: the budget that applies, where it comes from, and this month's spending.
public struct TeamBudgetStatus: Codable, Sendable, Equatable {
    public enum Source: String, Codable, Sendable {
        /// Set for the team (`paddock teams budget`).
        case team
        /// The server's `--team-budget` or `--default-team-budget`.
        case server
        /// No budget: runs are not limited by spending.
        case none
    }
    public var team: String
    public var monthlyBudgetUSD: Double?
    public var source: Source
    public var spentThisMonthUSD: Double
    public var monthStart: Date

    enum CodingKeys: String, CodingKey {
        case team, source, monthStart
        case monthlyBudgetUSD = "monthlyBudgetUsd"
        case spentThisMonthUSD = "spentThisMonthUsd"
    }

    public init(team: String, monthlyBudgetUSD: Double?, source: Source, spentThisMonthUSD: Double, monthStart: Date) {
        self.team = team
        self.monthlyBudgetUSD = monthlyBudgetUSD
        self.source = source
        self.spentThisMonthUSD = spentThisMonthUSD
        self.monthStart = monthStart
    }
}
