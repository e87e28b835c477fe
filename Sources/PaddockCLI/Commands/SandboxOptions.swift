import ArgumentParser
import PaddockCore
import PaddockServer

/// The sandbox flags `run` and `session create` share.
struct SandboxOptions: ParsableArguments {
    @Option(help: "Template to start from.") var template: String?
    @Option(help: "Provider: local (an OCI runtime on this host).") var provider: String?
    @Option(
        name: .customLong("env"),
        help: ArgumentHelp("Environment variable for every command (repeatable).", valueName: "K=V"))
    var env: [String] = []
    @Option(help: "Memory limit, e.g. 512MiB.") var memory: String?
    @Option(help: "CPU limit in cores, e.g. 1.5.") var cpus: Double?
    @Option(help: "Maximum number of processes.") var pids: Int?
    @Option(help: "Size cap of the writable layer, e.g. 1GiB.") var disk: String?
    @Option(help: "Working directory inside the sandbox (default /workspace).") var workdir: String?
    @Option(help: "Pause automatically after this long without activity, e.g. 10m; any call resumes it.")
    var idle: String?
    @Option(help: "Start with the files of this snapshot (id or name; `paddock snapshot list`).")
    var fromSnapshot: String?
    @Option(help: "Team the session belongs to (default: your only team).") var team: String?

    func environment() throws -> [String: String] {
        var out: [String: String] = [:]
        for pair in env {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw ValidationError("--env takes KEY=VALUE, not '\(pair)'")
            }
            out[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return out
    }

    func body(name: String?, ttl: String?) throws -> CreateSessionBody {
        var body = CreateSessionBody(
            name: name, template: template, provider: provider, env: try environment(), memory: memory, cpus: cpus,
            pids: pids, disk: disk, ttl: ttl, workdir: workdir, idle: idle, snapshot: fromSnapshot)
        body.team = team
        // Validate locally first so a typo is reported before anything is created.
        _ = try body.spec()
        return body
    }
}

/// Global connection flags.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON.") var json = false
}
