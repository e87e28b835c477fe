import Foundation

/// A team's agent budget (`GET /v1/teams/{team}/budget`): the budget that applies, where it comes from, and
/// this month's spending.
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
