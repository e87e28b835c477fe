import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// The org page, for owners and admins: the emergency stop (one confirmed click stops every session of a team
/// or of the whole org, and refuses new ones until lifted), the org's limits, and this month's agent spending
/// per team as a chart drawn on the server.
extension WebRoutes {
    struct StopRow: Sendable {
        var scope: String
        var team: String
        var since: String
        var by: String
    }

    /// One bar of the usage chart, laid out on the server: the page needs no script to draw it.
    struct Bar: Sendable {
        var label: String
        var amount: String
        var y: Int
        var textY: Int
        var width: Int
    }

    struct OrgPage: Sendable {
        var chrome: Chrome
        var stops: [StopRow]
        var teams: [String]
        var limits: [String]
        var bars: [Bar]
        var hasBars: Bool
        var chartHeight: Int
        /// The last 30 days, per team and per project.
        var byTeam: UsageChart
        var byProject: UsageChart
        var stopped: String?
    }

    func org(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        try person.caller.authorizeOrg(.admin)
        let stops = try await EmergencyStopService(sessions: sessions).stops().map {
            StopRow(
                scope: $0.team.map { "team \($0)" } ?? "every team", team: $0.team ?? "",
                since: Self.day.string(from: $0.at), by: $0.by)
        }
        let limits = try await access.limits()
        var limitLines: [String] = []
        if let n = limits.maxSessionsPerTeam { limitLines.append("At most \(n) live sessions per team") }
        if let n = limits.maxSessionsPerUser { limitLines.append("At most \(n) live sessions per person") }
        if let life = limits.maxLifetimeSeconds {
            limitLines.append("Sessions live at most \(DurationText.format(.seconds(life)))")
        }
        let now = Date()
        let usage = try await runs?.usage(since: RunConfiguration.monthStart(of: now))
        let recent = try await runs?.list(since: now.addingTimeInterval(-31 * 86_400)) ?? []
        let page = OrgPage(
            chrome: try await chrome(person, tab: "org"), stops: stops, teams: try await access.teams().map(\.name),
            limits: limitLines, bars: Self.bars(usage?.teams ?? []), hasBars: usage?.teams.isEmpty == false,
            chartHeight: max(1, usage?.teams.count ?? 0) * 28,
            byTeam: UsageChart(runs: recent, days: 30, until: now) { $0.team ?? "no team" },
            byProject: UsageChart(runs: recent, days: 30, until: now) { $0.project ?? "no project" },
            stopped: request.uri.queryParameters.get("stopped").map { String($0) })
        return try pages.page("org", page)
    }

    static func bars(_ teams: [UsageReport.Total]) -> [Bar] {
        let most = teams.map(\.costUSD).max() ?? 0
        return teams.enumerated().map { index, team in
            Bar(
                label: team.key,
                amount: String(format: "$%.2f · %d run%@", team.costUSD, team.runs, team.runs == 1 ? "" : "s"),
                y: index * 28,
                textY: index * 28 + 16, width: most > 0 ? max(2, Int(team.costUSD / most * 300)) : 2)
        }
    }

    func stopAll(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let form = try await FormFields.read(request)
        guard form["confirm"] == "yes" else {
            throw HTTPError(
                .badRequest, message: "Tick the box to confirm: the stop destroys every session in its scope.")
        }
        let team = form["team"].flatMap { $0.isEmpty ? nil : $0 }
        let report = try await EmergencyStopService(sessions: sessions).stopAll(team: team, by: person.caller)
        return .redirect(to: "/org?stopped=\(report.stopped.count)", type: .found)
    }

    func lift(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let form = try await FormFields.read(request)
        _ = try await EmergencyStopService(sessions: sessions).lift(
            team: form["team"].flatMap { $0.isEmpty ? nil : $0 }, by: person.caller)
        return .redirect(to: "/org", type: .found)
    }
}
