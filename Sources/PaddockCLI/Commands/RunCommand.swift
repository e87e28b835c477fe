import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one command in a fresh sandbox, then destroy it. Exits with the command's exit code.",
        discussion: "Example: paddock run -- sh -c 'echo hello; exit 3'")

    @OptionGroup var sandbox: SandboxOptions
    @Flag(name: .shortAndLong, help: "Allocate a terminal (interactive shells: paddock run --tty -- bash).") var tty =
        false
    @Option(help: "Kill the command after this long, e.g. 10m.") var timeout: String?
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, after --.") var command: [String] =
        []

    func run() async throws {
        let argv = command.first == "--" ? Array(command.dropFirst()) : command
        guard !argv.isEmpty else { throw ValidationError("give a command after --, e.g. paddock run -- echo hello") }
        if let timeout { _ = try DurationText.parse(timeout) }
        let client = try APIClient.fromEnvironment()
        // A TTL backs up the explicit destroy below, in case this process is killed outright.
        let ttl = timeout.map { t in "\(Int((try? DurationText.parse(t).seconds) ?? 3600) + 60)s" } ?? "24h"
        let session = try await client.call(
            .POST, "/v1/sessions", json: try sandbox.body(name: nil, ttl: ttl), as: SessionBody.self)
        let code: Int32
        do {
            code = try await ExecClient(client: client).run(
                session: session.id, body: execBody(argv), forwardStdin: !tty)
        } catch {
            _ = try? await client.raw(.DELETE, "/v1/sessions/\(session.id)")
            throw error
        }
        _ = try? await client.raw(.DELETE, "/v1/sessions/\(session.id)")
        throw CommandExit(code: code)
    }

    func execBody(_ argv: [String]) -> ExecBody {
        let size = Terminal.size()
        return ExecBody(cmd: argv, tty: tty ? .init(rows: size.rows, cols: size.cols) : nil, timeout: timeout)
    }
}

struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec", abstract: "Run a command in a running session. Exits with the command's exit code.")

    @Argument(help: "Session id.") var id: String
    @Flag(name: .shortAndLong, help: "Allocate a terminal.") var tty = false
    @Option(name: .customLong("env"), help: ArgumentHelp("Extra environment variable (repeatable).", valueName: "K=V"))
    var env: [String] = []
    @Option(help: "Working directory inside the sandbox.") var workdir: String?
    @Option(help: "Run as 'user' (default) or 'root' (root inside the sandbox only).") var user: String?
    @Option(help: "Kill the command after this long, e.g. 30s.") var timeout: String?
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, after --.") var command: [String] =
        []

    func run() async throws {
        let argv = command.first == "--" ? Array(command.dropFirst()) : command
        guard !argv.isEmpty else { throw ValidationError("give a command after --, e.g. paddock exec \(id) -- ls") }
        if let timeout { _ = try DurationText.parse(timeout) }
        let options = SandboxOptions.parseOrExit(env.flatMap { ["--env", $0] })
        let size = Terminal.size()
        let body = ExecBody(
            cmd: argv, env: try options.environment(), cwd: workdir, user: user,
            tty: tty ? .init(rows: size.rows, cols: size.cols) : nil, timeout: timeout)
        let code = try await ExecClient(client: try APIClient.fromEnvironment()).run(
            session: id, body: body, forwardStdin: !tty)
        throw CommandExit(code: code)
    }
}
