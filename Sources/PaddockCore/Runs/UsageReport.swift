import Foundation

/// Totals of runs, per session and per team (`GET /v1/usage`).
public struct UsageReport: Codable, Sendable, Equatable {
    public struct Total: Codable, Sendable, Equatable {
        public var key: String
        public var runs: Int
        public var usage: TokenUsage
        public var costUSD: Double
        /// What the gateway metered of the same runs' model calls.
        public var metered: MeteredUsage?

        enum CodingKeys: String, CodingKey {
            case key, runs, usage
            case costUSD = "costUsd"
            case metered
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
    /// What the gateway metered of the runs' model calls, beside what the agents reported (`usage`, `costUSD`).
    public var metered: MeteredUsage?

    enum CodingKeys: String, CodingKey {
        case since, runs, usage
        case costUSD = "costUsd"
        case teams, projects, sessions, metered
    }

    public init(runs: [Run], since: Date?) {
        self.since = since
        self.runs = runs.count
        usage = runs.reduce(TokenUsage()) { $0 + $1.usage }
        costUSD = runs.reduce(0) { $0 + $1.costUSD }
        metered = Self.metered(runs)
        func totals(_ key: (Run) -> String) -> [Total] {
            Dictionary(grouping: runs, by: key).map { k, group in
                var total = Total(
                    key: k, runs: group.count, usage: group.reduce(TokenUsage()) { $0 + $1.usage },
                    costUSD: group.reduce(0) { $0 + $1.costUSD })
                total.metered = Self.metered(group)
                return total
            }.sorted { $0.key < $1.key }
        }
        teams = totals { $0.team ?? "-" }
        projects = totals { $0.project ?? "-" }
        sessions = totals { $0.session.rawValue }
    }

    static func metered(_ runs: [Run]) -> MeteredUsage {
        runs.reduce(into: MeteredUsage()) { total, run in
            guard let m = run.metered else { return }
            total.calls += m.calls
            total.usage = total.usage + m.usage
            total.costUSD += m.costUSD
        }
    }

    /// Whether the agents' own figure and the gateway's differ by more than a cent and 5 %: one of them missed
    /// calls (an agent that under-reports, calls the gateway could not read).
    public static func disagree(reported: Double, metered: Double) -> Bool {
        abs(reported - metered) > max(0.01, 0.05 * max(reported, metered))
    }
}
