import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

/// `paddock stop-all [--team T] [--lift]`.
struct StopAllCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop-all",
        abstract: "Emergency stop (admin): freeze and destroy every session, and refuse new ones until lifted.",
        discussion: "The stop is stored, so it holds across server restarts. `--lift` lets sessions start again.")
    @Option(help: "Only this team's sessions.") var team: String?
    @Flag(help: "Lift the stop (of --team, or every stop) instead.") var lift = false
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let client = try APIClient.fromEnvironment()
        if lift {
            let body = try await client.call(
                .DELETE, "/v1/stop-all" + (team.map { "?" + APIClient.query(["team": $0]) } ?? ""), as: LiftBody.self)
            if output.json { return try printJSON(body) }
            print(body.lifted == 0 ? "no emergency stop was in force" : "lifted; new sessions may start")
            return
        }
        let report = try await client.call(
            .POST, "/v1/stop-all", json: StopAllBody(team: team), as: StopAllReportBody.self)
        if output.json { return try printJSON(report) }
        let scope = team.map { "team \($0)" } ?? "every team"
        print("emergency stop of \(scope): \(report.stopped.count) sessions frozen and destroyed; new ones are refused")
        print("lift it with `paddock stop-all --lift\(team.map { " --team \($0)" } ?? "")`")
        if !report.failed.isEmpty {
            print("could not destroy (they are frozen; run stop-all again): \(report.failed.joined(separator: ", "))")
            throw CommandExit(code: 1)
        }
    }
}

/// `paddock limits show|set`.
struct LimitsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limits", abstract: "Org limits: concurrent sessions per team and per user, session lifetime.",
        subcommands: [Show.self, Set.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the org limits.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let limits = try await APIClient.fromEnvironment().call(.GET, "/v1/limits", as: LimitsBody.self)
            if output.json { return try printJSON(limits) }
            printLimits(limits)
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change org limits (admin); `none` removes one. Unmentioned limits stay as they are.")
        @Option(help: "Max live sessions per team, or none.") var perTeam: String?
        @Option(help: "Max live sessions per user, or none.") var perUser: String?
        @Option(help: "Max session lifetime, e.g. 8h, or none.") var lifetime: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            var limits = try await client.call(.GET, "/v1/limits", as: LimitsBody.self)
            func count(_ text: String, _ flag: String) throws -> Int? {
                if text == "none" { return nil }
                guard let n = Int(text), n >= 1 else { throw ValidationError("\(flag) takes a number ≥ 1 or none") }
                return n
            }
            if let perTeam { limits.maxSessionsPerTeam = try count(perTeam, "--per-team") }
            if let perUser { limits.maxSessionsPerUser = try count(perUser, "--per-user") }
            if let lifetime { limits.maxSessionLifetime = lifetime == "none" ? nil : lifetime }
            _ = try limits.limits()
            let updated = try await client.call(.PUT, "/v1/limits", json: limits, as: LimitsBody.self)
            if output.json { return try printJSON(updated) }
            printLimits(updated)
        }
    }
}

private func printLimits(_ l: LimitsBody) {
    print("max sessions per team:  \(l.maxSessionsPerTeam.map(String.init) ?? "no limit")")
    print("max sessions per user:  \(l.maxSessionsPerUser.map(String.init) ?? "no limit")")
    print("max session lifetime:   \(l.maxSessionLifetime ?? "no limit")")
}
