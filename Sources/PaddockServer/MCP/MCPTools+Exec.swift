import Foundation
import MCP
import PaddockCore
import PaddockSandbox
import PaddockServices

/// The `exec` tool: a shell command line, run in the session under its guardrails and audited like `/v1`'s exec.
extension MCPTools {
    func exec(_ args: Arguments, caller: Caller, progress: ProgressToken?, server: Server?) async throws -> String {
        let id = try args.session()
        let line = try args.string("command")
        let cwd = args.optionalString("cwd") ?? SandboxLayout.workspace
        let handle: any ExecHandle
        if let argv = Self.plainArgv(line) {
            do {
                handle = try await sessions.exec(id, SessionCommand(argv, cwd: cwd), by: caller)
            } catch let e as PaddockError where e.code == .notFound {
                // Not a program on PATH (or no such session or directory, which the shell finds again): the
                // shell answers in its own words (`not found`, exit 127), as for any other line.
                handle = try await sessions.exec(id, SessionCommand(["/bin/sh", "-c", line], cwd: cwd), by: caller)
            }
        } else {
            handle = try await sessions.exec(id, SessionCommand(["/bin/sh", "-c", line], cwd: cwd), by: caller)
        }
        let limit = Duration.seconds(args.int("timeout_seconds") ?? 600)
        let (output, status) = try await withDeadline(limit, "the command") {
            var output: [UInt8] = []
            var status: ExitStatus?
            var step = 0.0
            for try await event in handle.events {
                switch event {
                case .stdout(let bytes), .stderr(let bytes):
                    output += bytes
                    if output.count > 2 * Self.outputLimit { output.removeFirst(output.count - Self.outputLimit) }
                    if let progress, let server {
                        step += 1
                        try await server.notify(
                            ProgressNotification.message(
                                .init(
                                    progressToken: progress, progress: step, total: nil,
                                    message: String(decoding: bytes, as: UTF8.self))))
                    }
                case .exited(let s): status = s
                case .started: break
                }
            }
            return (output, status)
        }
        let tail = output.count > Self.outputLimit ? Array(output.suffix(Self.outputLimit)) : output
        return "exit code \(status?.code ?? -1)\n" + String(decoding: tail, as: UTF8.self)
    }

    /// The words of a command line the shell would run as one program with those arguments, untouched: nothing
    /// it would expand, quote, redirect or chain, and a first word that names a program rather than a shell
    /// builtin or keyword. Such a line runs without a shell in between (one process fewer per call); any other
    /// line, nil here, goes to `/bin/sh -c`.
    static func plainArgv(_ line: String) -> [String]? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let program = words.first, !shellOnly.contains(program),
            program.unicodeScalars.allSatisfy({ programCharacters.contains($0) }),
            words.allSatisfy({ $0.unicodeScalars.allSatisfy { plainCharacters.contains($0) } })
        else { return nil }
        return words
    }

    /// A PATH name: no slash (a path the shell might report differently), no `=` (an assignment).
    static let programCharacters = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-")
    /// Characters the shell gives no meaning in a word (no quotes, `$`, globs, `~`, `#`, redirections, braces).
    static let plainCharacters = programCharacters.union(CharacterSet(charactersIn: "/=:,@%"))
    /// Names the shell runs itself, or that behave differently as the program of the same name (`pwd`, `echo`).
    static let shellOnly: Set<String> = [
        ".", "alias", "bg", "break", "case", "cd", "command", "continue", "do", "done", "echo", "elif", "else", "esac",
        "eval", "exec", "exit", "export", "fc", "fg", "fi", "for", "function", "getopts", "hash", "if", "in", "jobs",
        "kill", "local", "printf", "pwd", "read", "readonly", "return", "select", "set", "shift", "source", "test",
        "then", "times", "trap", "type", "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
    ]
}
