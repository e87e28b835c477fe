import Foundation
import PaddockCore
import Subprocess
import SystemPackage

/// Runs the host's `git` for a server-owned repository directory.
///
/// Two trust levels, because two kinds of content pass through it:
/// - `.remote` (clone, fetch, push): the host's own git configuration applies, so its credential helpers and
///   SSH keys reach the remote — the sandbox never sees them.
/// - `.content` (add, diff, commit, merge over files that came out of a sandbox): no system or global
///   configuration, no credential helpers, no prompts, and hooks pointed at /dev/null, so nothing an agent
///   wrote can make the host run a program (`.gitattributes` filters and diff drivers need configuration,
///   which only the server writes).
struct HostGit: Sendable {
    enum Trust: Sendable {
        case remote
        case content
    }

    struct Output: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
        var succeeded: Bool { status == 0 }
        /// The last lines of stderr, for error messages.
        var problem: String {
            let text = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            return text.split(separator: "\n").suffix(4).joined(separator: "; ")
        }
    }

    /// Identity for commits the server makes.
    static let identity = ["-c", "user.name=Paddock", "-c", "user.email=paddock@localhost"]

    let directory: String?
    /// The directory belongs to another user on purpose (a checkout for the sandbox user): git may work in it.
    let safeDirectory: Bool

    init(_ directory: String?, safeDirectory: Bool = false) {
        self.directory = directory
        self.safeDirectory = safeDirectory
    }

    /// Runs `git ARGS` with `input` on its standard input and `index` as its index file (nil: the repository's);
    /// a non-zero exit is a result. Output beyond `limit` bytes is an error.
    func run(
        _ arguments: [String], trust: Trust, input: String = "", index: String? = nil, limit: Int = 64 << 20
    ) async throws -> Output {
        var env: [Environment.Key: String?] = [
            "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": nil, "SSH_ASKPASS": nil, "GIT_DIR": nil, "GIT_WORK_TREE": nil,
            "GIT_INDEX_FILE": index, "GIT_OBJECT_DIRECTORY": nil, "GIT_ALTERNATE_OBJECT_DIRECTORIES": nil,
            "GIT_EXTERNAL_DIFF": nil, "GIT_PAGER": "cat", "PAGER": "cat", "LC_ALL": "C",
        ]
        if trust == .content {
            env["GIT_CONFIG_NOSYSTEM"] = "1"
            env["GIT_CONFIG_GLOBAL"] = "/dev/null"
            env["GIT_SSH_COMMAND"] = nil
            env["GIT_EDITOR"] = "true"
        }
        // Hooks never run, whatever the trust: the server's clones have none, and a repository must not be
        // able to bring one. The ext:: transport runs arbitrary commands, so it is off too.
        var fixed = ["-c", "core.hooksPath=/dev/null", "-c", "protocol.ext.allow=never", "-c", "core.fsmonitor=false"]
        if safeDirectory, let directory { fixed += ["-c", "safe.directory=\(directory)"] }
        do {
            let record = try await Subprocess.run(
                .name("git"), arguments: Arguments(fixed + arguments), environment: .inherit.updating(env),
                workingDirectory: directory.map { FilePath($0) }, input: .array(Array(input.utf8)),
                output: .string(limit: limit),
                error: .string(limit: 1 << 20))
            let status: Int32
            switch record.terminationStatus {
            case .exited(let code): status = code
            case .signaled(let signal): status = 128 + signal
            }
            return Output(status: status, stdout: record.standardOutput, stderr: record.standardError)
        } catch {
            throw PaddockError.unavailable(
                "could not run git on the server host; install it (apt-get install git)", underlying: error)
        }
    }

    /// Runs and throws `what` with git's complaint when it fails.
    @discardableResult
    func check(_ arguments: [String], trust: Trust, _ what: String) async throws -> String {
        let out = try await run(arguments, trust: trust)
        guard out.succeeded else { throw PaddockError.internal("\(what): git says: \(out.problem)") }
        return out.stdout
    }
}
