import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session", abstract: "Create, list, inspect and destroy sessions.",
        subcommands: [Create.self, List.self, Get.self, Stop.self, Resume.self, Destroy.self, Fork.self, Network.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a session and print it.")
        @OptionGroup var sandbox: SandboxOptions
        @Option(help: "A name to recognise it by.") var name: String?
        @Option(help: "Destroy it automatically after this long, e.g. 30m.") var ttl: String?
        @Option(help: "Same as --ttl.") var timeout: String?
        @Option(help: "A git repository (URL, or a path on the server's host) the server clones into /workspace.")
        var repo: String?
        @Option(help: "The branch of --repo to check out; approved reviews merge into it.") var branch: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            var body = try sandbox.body(name: name, ttl: ttl ?? timeout)
            (body.repo, body.branch) = (repo, branch)
            _ = try body.spec()
            let s = try await client.call(.POST, "/v1/sessions", json: body, as: SessionBody.self)
            try printSession(s, json: output.json)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List live sessions.")
        @Flag(help: "Include destroyed and failed sessions.") var all = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(
                .GET, "/v1/sessions\(all ? "?all=true" : "")", as: SessionListBody.self)
            if output.json { return try printJSON(list) }
            print("ID                STATE       TEMPLATE  CREATED               EXPIRES               NAME")
            for s in list.sessions {
                print(
                    [
                        s.id.padding(16), (s.awaitingApproval == true ? "awaiting_approval" : s.state).padding(10),
                        s.template.padding(8), format(s.createdAt).padding(20),
                        (s.expiresAt.map(format) ?? "-").padding(20), s.name ?? "",
                    ].joined(separator: "  "))
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one session.")
        @Argument(help: "Session id.") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try printSession(
                try await APIClient.fromEnvironment().call(.GET, "/v1/sessions/\(id)", as: SessionBody.self),
                json: output.json)
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pause sessions: their processes are frozen (no CPU) and keep memory and files.",
            discussion: """
                Any exec or file call to a paused session resumes it transparently. With --to-disk (gVisor sessions), \
                the whole sandbox is written to disk and holds no memory; a resume restores its processes.
                """)
        @Argument(help: "Session ids.") var ids: [String]
        @Flag(help: "Write the sandbox to disk and release its memory (gVisor sessions).") var toDisk = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for id in ids {
                let s = try await client.call(
                    .POST, "/v1/sessions/\(id)/pause\(toDisk ? "?to=disk" : "")", as: SessionBody.self)
                if output.json { try printJSON(s) } else { print("\(toDisk ? "stopped to disk" : "paused") \(s.id)") }
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume paused sessions where they stopped.")
        @Argument(help: "Session ids.") var ids: [String]
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for id in ids {
                let s = try await client.call(.POST, "/v1/sessions/\(id)/resume", as: SessionBody.self)
                if output.json { try printJSON(s) } else { print("resumed \(s.id)") }
            }
        }
    }

    struct Destroy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Destroy sessions and everything in them.")
        @Argument(help: "Session ids.") var ids: [String]
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for id in ids {
                let s = try await client.call(.DELETE, "/v1/sessions/\(id)", as: SessionBody.self)
                if output.json { try printJSON(s) } else { print("destroyed \(s.id)") }
            }
        }
    }
}

func printSession(_ s: SessionBody, json: Bool) throws {
    if json { return try printJSON(s) }
    print("id:        \(s.id)")
    if let name = s.name { print("name:      \(name)") }
    if let project = s.project { print("project:   \(project)") }
    print("state:     \(s.state)\(s.reason.map { " (\($0))" } ?? "")")
    if s.awaitingApproval == true { print("           awaiting_approval: `paddock approvals list --session \(s.id)`") }
    print("template:  \(s.template)   provider: \(s.provider)")
    print("limits:    memory \(s.limits.memory), cpus \(s.limits.cpus), pids \(s.limits.pids), disk \(s.limits.disk)")
    print("workdir:   \(s.workdir)")
    if let start = s.start { print("started:   \(start)") }
    if let snapshot = s.snapshot { print("snapshot:  \(snapshot) (its files; processes started fresh)") }
    if let parent = s.forkOf { print("fork of:   \(parent) (its files; processes started fresh)") }
    if let r = s.repository { print("repo:      \(r.url)   branch: \(r.branch)   base: \(r.base.prefix(12))") }
    if s.team != nil || s.createdBy != nil { print("team:      \(s.team ?? "-")   created by: \(s.createdBy ?? "-")") }
    if !s.envKeys.isEmpty { print("env:       \(s.envKeys.joined(separator: ", "))") }
    print("created:   \(format(s.createdAt))")
    if let e = s.expiresAt { print("expires:   \(format(e))") }
    if let policy = s.policy {
        print("policy:")
        for line in policy { print("  \(line)") }
        for note in s.policyNotes ?? [] { print("  note: \(note)") }
    }
}

func format(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: date)
}
