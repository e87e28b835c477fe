import Foundation
import PaddockCore

/// How runs are started and what they may cost: the agents, the price table, per-run limits and the teams'
/// monthly budgets (US dollars). Built by `paddock server` from its flags.
public struct RunConfiguration: Sendable {
    public var agents: [String: AgentDefinition]
    /// The agent used when a prompt names none.
    public var defaultAgent: String
    public var prices: PriceTable
    /// Applied to every run.
    public var limits: RunLimits
    /// Monthly budget per team; teams not listed use `defaultTeamBudget` (nil: unlimited).
    public var teamBudgets: [String: Double]
    public var defaultTeamBudget: Double?

    public init(
        agents: [AgentDefinition] = [.claudeCode()], defaultAgent: String = "claude-code",
        prices: PriceTable = .default, limits: RunLimits = RunLimits(), teamBudgets: [String: Double] = [:],
        defaultTeamBudget: Double? = nil
    ) {
        self.agents = Dictionary(agents.map { ($0.name, $0) }) { _, last in last }
        self.defaultAgent = defaultAgent
        self.prices = prices
        self.limits = limits
        self.teamBudgets = teamBudgets
        self.defaultTeamBudget = defaultTeamBudget
    }

    public func budget(team: String?) -> Double? {
        team.flatMap { teamBudgets[$0] } ?? defaultTeamBudget
    }

    /// The first instant of the current calendar month in UTC: budgets reset then.
    public static func monthStart(of date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar.date(from: calendar.dateComponents([.year, .month], from: date)) ?? date
    }
}
