import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

/// `paddock runs list|show|attach|cancel`: agent runs and their records.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "List, show, follow and cancel agent runs.",
        subcommands: [List.self, Show.self, Attach.self, Cancel.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Runs, newest first.")
        @Option(help: "Only this session's.") var session: String?
        @Option(help: "Only this team's.") var team: String?
        @Option(help: "Only runs started since a date (2026-11-01) or a duration ago (7d, 24h).") var since: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var query: [String: String] = [:]
            if let session { query["session"] = session }
            if let team { query["team"] = team }
            if let since { query["since"] = since }
            let list = try await APIClient.fromEnvironment().call(
                .GET, "/v1/runs" + (query.isEmpty ? "" : "?" + APIClient.query(query)), as: RunListBody.self)
            if output.json { return try printJSON(list) }
            if list.runs.isEmpty { return print("no runs") }
            print(
                "RUN                   SESSION           STATUS             AGENT        TOKENS     COST      "
                    + "METERED     PROMPT")
            for r in list.runs {
                print(
                    [
                        r.id.padding(20), r.session.rawValue.padding(16), r.status.rawValue.padding(17),
                        r.agent.padding(11), String(r.usage.total).padding(9),
                        ("$" + RunLimits.dollars(r.costUSD)).padding(8), UsageCommand.metered(r.metered, r.costUSD),
                        String(r.prompt.replacingOccurrences(of: "\n", with: " ").prefix(50)),
                    ].joined(separator: "  "))
            }
            if list.runs.contains(where: { UsageCommand.differs($0.metered, $0.costUSD) }) {
                print("! the gateway metered a different cost than the agent reported")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A run's record.")
        @Argument(help: "Run id.") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let r = try await APIClient.fromEnvironment().call(.GET, "/v1/runs/\(id)", as: Run.self)
            if output.json { return try printJSON(r) }
            print("run        \(r.id)")
            print("session    \(r.session)\(r.team.map { " (team \($0))" } ?? "")")
            print("agent      \(r.agent)\(r.model.map { " · model \($0)" } ?? "")")
            print("status     \(r.status.rawValue)\(r.reason.map { " — \($0)" } ?? "")")
            print("prompt     \(r.prompt)")
            print(
                "tokens     \(r.usage.input) in, \(r.usage.output) out, \(r.usage.cacheRead) cache read, "
                    + "\(r.usage.cacheWrite) cache write")
            print("cost       $\(RunLimits.dollars(r.costUSD)) (\(r.costSource ?? "none"))")
            if let m = r.metered {
                print(
                    "metered    \(m.calls) model calls at the gateway: \(m.usage.input) in, \(m.usage.output) out, "
                        + "\(m.usage.cacheRead) cache read, \(m.usage.cacheWrite) cache write, "
                        + "$\(RunLimits.dollars(m.costUSD))"
                        + (UsageReport.disagree(reported: r.costUSD, metered: m.costUSD)
                            ? " — differs from what the agent reported" : ""))
            }
            print("duration   \(r.durationSeconds().map { String(format: "%.1fs", $0) } ?? "-")")
            print("commands   \(r.commands.isEmpty ? "-" : r.commands.joined(separator: "\n           "))")
            if !r.refused.isEmpty { print("refused    \(r.refused.joined(separator: "\n           "))") }
            if let network = r.refusedNetwork, !network.isEmpty {
                print("network    \(network.joined(separator: "\n           "))")
            }
            print("files      \(r.filesChanged.isEmpty ? "-" : r.filesChanged.joined(separator: ", "))")
            if !r.approvals.isEmpty { print("approvals  \(r.approvals.joined(separator: ", "))") }
            if !r.errors.isEmpty { print("errors     \(r.errors.joined(separator: "\n           "))") }
            if let final = r.finalMessage { print("final      \(final)") }
        }
    }

    struct Attach: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow a run again: its events so far, then live until it ends.")
        @Argument(help: "Run id.") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await RunFollower(client: try APIClient.fromEnvironment(), runID: id, json: output.json).follow()
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a run (its agent and tool commands).")
        @Argument(help: "Run id.") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let r = try await APIClient.fromEnvironment().call(.POST, "/v1/runs/\(id)/cancel", as: Run.self)
            if output.json { return try printJSON(r) }
            print("run \(r.id) \(r.status.rawValue)")
        }
    }
}

/// `paddock usage [--team T] [--since DATE|DURATION]`: tokens and dollars per team and per session.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage", abstract: "Token usage and cost of agent runs, per team and per session.")
    @Option(help: "Only this team's.") var team: String?
    @Option(help: "Since a date (2026-11-01) or a duration ago (7d, 24h); default: all time.") var since: String?
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var query: [String: String] = [:]
        if let team { query["team"] = team }
        if let since { query["since"] = since }
        let report = try await APIClient.fromEnvironment().call(
            .GET, "/v1/usage" + (query.isEmpty ? "" : "?" + APIClient.query(query)), as: UsageReport.self)
        if output.json { return try printJSON(report) }
        print(
            "\(report.runs) runs, \(report.usage.total) tokens, $\(RunLimits.dollars(report.costUSD)) (agent-reported)")
        if let m = report.metered {
            print(
                "\(m.calls) model calls metered at the gateway, \(m.usage.total) tokens, $\(RunLimits.dollars(m.costUSD))"
                    + (UsageReport.disagree(reported: report.costUSD, metered: m.costUSD)
                        ? " — differs from what the agents reported" : ""))
        }
        for (title, rows) in [("TEAM", report.teams), ("SESSION", report.sessions)] where !rows.isEmpty {
            print("\n\(title.padding(18))  RUNS   INPUT      OUTPUT     CACHE-READ  COST      METERED")
            for t in rows {
                print(
                    [
                        t.key.padding(18), String(t.runs).padding(5), String(t.usage.input).padding(9),
                        String(t.usage.output).padding(9), String(t.usage.cacheRead).padding(10),
                        ("$" + RunLimits.dollars(t.costUSD)).padding(8), Self.metered(t.metered, t.costUSD),
                    ].joined(separator: "  "))
            }
        }
        if (report.teams + report.sessions).contains(where: { Self.differs($0.metered, $0.costUSD) }) {
            print("\n! the gateway metered a different cost than the agents reported")
        }
    }

    /// The metered cost as a column, marked `!` when it differs from the agent's own figure.
    static func metered(_ metered: MeteredUsage?, _ reported: Double) -> String {
        guard let metered else { return "-".padding(10) }
        return ("$" + RunLimits.dollars(metered.costUSD) + (differs(metered, reported) ? " !" : "")).padding(10)
    }

    static func differs(_ metered: MeteredUsage?, _ reported: Double) -> Bool {
        guard let metered, metered.calls > 0 else { return false }
        return UsageReport.disagree(reported: reported, metered: metered.costUSD)
    }
}
