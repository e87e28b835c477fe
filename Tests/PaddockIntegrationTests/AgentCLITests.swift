import Foundation
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// `paddock prompt`, `paddock runs list|show|attach|cancel` and `paddock usage` against a real server whose
/// agents come from its flags (`--agent-command`, `--default-agent`).
@Suite(.needsSandboxes, .serialized)
struct AgentCLITests {
    typealias CLI = CLITests.CLI

    static let flags = [
        "--agent-command", #"echo=["/bin/sh","-c","echo \"got: $0\"; echo hi > /workspace/x.txt","{prompt}"]"#,
        "--agent-command", #"slow=["/bin/sh","-c","echo \"started $0\"; sleep 300","{prompt}"]"#,
        "--default-agent", "echo",
    ]

    @Test func promptFollowsTheRunAndRunsCommandsShowIt() async throws {
        let server = try await CLITests.ServerProcess(extraArguments: Self.flags)
        do {
            let created = try await CLI.run(["session", "create", "--json"], server: server)
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))

            let prompt = try await CLI.run(["prompt", session.id, "hello there"], server: server)
            #expect(prompt.status == 0, "\(prompt.stderr)")
            #expect(prompt.stdout.contains("got: hello there"))
            #expect(prompt.stderr.contains(" completed"), "\(prompt.stderr)")

            let list = try await CLI.run(["runs", "list", "--session", session.id, "--json"], server: server)
            let runs = try APICoding.decoder().decode(RunListBody.self, from: Data(list.stdout.utf8)).runs
            #expect(runs.count == 1)
            let run = try #require(runs.first)
            #expect(run.agent == "echo" && run.status == .completed && run.filesChanged == ["x.txt"])

            let show = try await CLI.run(["runs", "show", run.id], server: server)
            #expect(show.stdout.contains("files      x.txt") && show.stdout.contains("status     completed"))

            let usage = try await CLI.run(["usage", "--since", "1d", "--json"], server: server)
            let report = try APICoding.decoder().decode(UsageReport.self, from: Data(usage.stdout.utf8))
            #expect(report.runs == 1 && report.sessions.map(\.key) == [session.id])

            let started = try await CLI.run(
                ["prompt", session.id, "wait", "--agent", "slow", "--detach"], server: server)
            let slowID = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(slowID.hasPrefix("run_"), "\(started.stdout) \(started.stderr)")
            try await Task.sleep(for: .milliseconds(500))
            let cancel = try await CLI.run(["runs", "cancel", slowID], server: server)
            #expect(cancel.stdout.contains("cancelled"), "\(cancel.stdout) \(cancel.stderr)")
            // Attaching to a finished run replays it and exits non-zero because it did not complete.
            let attach = try await CLI.run(["runs", "attach", slowID], server: server)
            #expect(attach.status == 1)
            #expect(attach.stdout.contains("started wait"), "\(attach.stdout)")
            #expect(attach.stderr.contains("cancelled"))

            // Ctrl-C stops following, not the run, and says how to come back.
            let (follower, out, err) = CLI.process(["prompt", session.id, "again", "--agent", "slow"], server: server)
            try follower.run()
            try await Task.sleep(for: .seconds(2))
            kill(follower.processIdentifier, SIGINT)
            await ChildProcess.end(follower, signal: 0)
            let followed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(follower.terminationStatus == 130)
            #expect(followed.contains("started again"))
            let detachedID = try #require(said.split(separator: " ").first { $0.hasPrefix("run_") }).trimmingCharacters(
                in: .punctuationCharacters)
            #expect(said.contains("paddock runs attach \(detachedID)"), "\(said)")
            let stillGoing = try await CLI.run(["runs", "show", detachedID, "--json"], server: server)
            let still = try APICoding.decoder().decode(Run.self, from: Data(stillGoing.stdout.utf8))
            #expect(still.status == .running)
            _ = try await CLI.run(["runs", "cancel", detachedID], server: server)

            let unknown = try await CLI.run(["prompt", session.id, "x", "--agent", "nope"], server: server)
            #expect(unknown.status == 1 && unknown.stderr.contains("agent 'nope' is not configured"))
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }
}
