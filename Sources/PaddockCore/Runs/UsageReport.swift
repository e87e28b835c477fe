import Foundation

/// Totals of runs, per session and per team (`GET /v1/usage`).
public struct UsageReport: Codable, Sendable, Equatable {
    public struct Total: Codable, Sendable, Equatable {
        public var key: String
        public var runs: Int
        public var usage: TokenUsage
        public var costUSD: Double

        enum CodingKeys: String, CodingKey {
            case key, runs, usage
            case costUSD = "costUsd"
        }
    }

    public var since: Date?
    public var runs: Int
    public var usage: TokenUsage
    public var costUSD: Double
    public var teams: [Total]
    /// Runs of sessions started from a project (the others are under `-`).
    public var projects: [Total]
    public var sessions: [Total]

    enum CodingKeys: String, CodingKey {
        case since, runs, usage
        case costUSD = "costUsd"
        case teams, projects, sessions
    }

    public init(runs: [Run], since: Date?) {
        self.since = since
        self.runs = runs.count
        usage = runs.reduce(TokenUsage()) { $0 + $1.usage }
        costUSD = runs.reduce(0) { $0 + $1.costUSD }
        func totals(_ key: (Run) -> String) -> [Total] {
            Dictionary(grouping: runs, by: key).map { k, group in
                Total(
                    key: k, runs: group.count, usage: group.reduce(TokenUsage()) { $0 + $1.usage },
                    costUSD: group.reduce(0) { $0 + $1.costUSD })
            }.sorted { $0.key < $1.key }
        }
        teams = totals { $0.team ?? "-" }
        projects = totals { $0.project ?? "-" }
        sessions = totals { $0.session.rawValue }
    }
}
