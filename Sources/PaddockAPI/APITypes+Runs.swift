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
