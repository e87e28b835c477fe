import ArgumentParser
import Dispatch
import Foundation
import PaddockAPI
import PaddockCore

/// `paddock prompt ID "text"`: starts an agent run in a session and follows it live.
struct PromptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prompt", abstract: "Ask the session's coding agent to do something, and follow the run.",
        discussion: """
            The run belongs to the server: Ctrl-C only stops following it (`paddock runs attach RUN` follows it
            again, `paddock runs cancel RUN` stops it). A later prompt in the same session continues the agent's
            conversation.
            """)

    @Argument(help: "Session id.") var id: String
    @Argument(help: "What the agent should do.") var text: String
    @Option(help: "Model name passed to the agent.") var model: String?
    @Option(help: "Agent configured on the server (default: its default, claude-code).") var agent: String?
    @Flag(help: "Start the run and print its record as JSON without following it.") var detach = false
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let client = try APIClient.fromEnvironment()
        let run = try await client.call(
            .POST, "/v1/sessions/\(id)/runs", json: CreateRunBody(prompt: text, agent: agent, model: model),
            as: Run.self)
        if detach {
            if output.json { return try printJSON(run) }
            print(run.id)
            return
        }
        if !output.json { FileHandle.standardError.write(Data("run \(run.id) started (\(run.agent))\n".utf8)) }
        try await RunFollower(client: client, runID: run.id, json: output.json).follow()
    }
}

/// Prints a run's events as they come and exits with 0 when it completed, 1 otherwise.
struct RunFollower {
    let client: APIClient
    let runID: String
    let json: Bool

    func follow() async throws {
        let interrupt = Self.detachOnInterrupt(runID)
        defer { interrupt.cancel() }
        var last: Run.Status?
        try await client.streamLines(.GET, "/v1/runs/\(runID)/events") { line in
            let event = try APICoding.decoder().decode(RunEvent.self, from: line)
            if json {
                Self.say(String(decoding: line, as: UTF8.self))
            } else {
                Self.show(event)
            }
            if event.kind == "status", let status = event.status { last = status }
        }
        let run = try await client.call(.GET, "/v1/runs/\(runID)", as: Run.self)
        if !json { FileHandle.standardError.write(Data((Self.summary(run) + "\n").utf8)) }
        if (last ?? run.status) != .completed { throw CommandExit(code: 1) }
    }

    static func show(_ e: RunEvent) {
        switch e.kind {
        case "text": say(e.text ?? "")
        case "tool_call": say("→ \(e.text ?? e.tool ?? "tool")")
        case "tool_result":
            let first = (e.text ?? "").split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init)
            let shown = String((first ?? "").prefix(200))
            say("← \(e.isError == true ? "error" : "ok")\(shown.isEmpty ? "" : ": \(shown)")")
        case "error": FileHandle.standardError.write(Data("! \(e.text ?? "error")\n".utf8))
        case "status":
            if let s = e.status, s == .awaitingApproval {
                say("… waiting for an approval (`paddock approvals list`)")
            }
        default: break
        }
    }

    /// Unbuffered, so a live run shows as it happens even through a pipe.
    static func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    static func summary(_ run: Run) -> String {
        let seconds = run.durationSeconds().map { String(format: "%.1fs", $0) } ?? "-"
        return "run \(run.id) \(run.status.rawValue)\(run.reason.map { " (\($0))" } ?? "") — "
            + "\(run.usage.input) in / \(run.usage.output) out / \(run.usage.cacheRead) cache-read tokens, "
            + "$\(RunLimits.dollars(run.costUSD)), \(seconds)"
    }

    /// Ctrl-C leaves the run going and says how to follow it again.
    static func detachOnInterrupt(_ runID: String) -> any DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            FileHandle.standardError.write(
                Data(
                    ("\ndetached; the run goes on. Follow it again with `paddock runs attach \(runID)`, "
                        + "stop it with `paddock runs cancel \(runID)`\n").utf8))
            exit(130)
        }
        source.resume()
        return source
    }
}
