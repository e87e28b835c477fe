import ArgumentParser
import Foundation
import PaddockAPI
import PaddockConfig
import PaddockCore

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
    @Option(help: "A runtime.yml whose guardrails and limits the session runs under (checked here and by the server).")
    var policy: String?
    @Option(
        name: .customLong("secret"),
        help: ArgumentHelp("A vault secret, given as a placeholder the gateway swaps (repeatable).", valueName: "NAME"))
    var secrets: [String] = []
    @Option(
        help: ArgumentHelp("Let traffic reach a host, *.suffix, host:port or CIDR (repeatable).", valueName: "HOST"))
    var allow: [String] = []
    @Option(help: ArgumentHelp("Refuse a host, *.suffix, host:port or CIDR (repeatable).", valueName: "HOST"))
    var deny: [String] = []
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
        body.secrets = secrets.isEmpty ? nil : secrets
        body.allow = allow.isEmpty ? nil : allow
        body.deny = deny.isEmpty ? nil : deny
        body.team = team
        // Validate locally first so a typo is reported before anything is created.
        _ = try body.spec()
        guard let policy else { return body }
        var withPolicy = body
        withPolicy.policy = try Self.readPolicy(policy)
        return withPolicy
    }

    /// The file's text, validated here so a mistake is reported (with file:line:column) before anything is sent.
    static func readPolicy(_ path: String) throws -> PolicyText {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PaddockError.notFound("no policy file at \(path); pass the path of a runtime.yml")
        }
        let text = String(decoding: data, as: UTF8.self)
        let name = URL(fileURLWithPath: path).lastPathComponent
        do { _ = try RuntimeConfig.parse(text, file: name) } catch { throw error.paddockError }
        return PolicyText(text: text, file: name)
    }
}
