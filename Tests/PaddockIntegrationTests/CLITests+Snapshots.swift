import Foundation
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

extension CLITests {
    /// Templates, snapshots and forks through the real binaries, as a user types them.
    @Test func templatesSnapshotsAndForksFromTheCLI() async throws {
        try await Self.withServer { server in
            let build = try await CLI.run(
                ["template", "build", "tools", "--install", "mkdir -p /srv && echo from-template > /srv/t"],
                server: server)
            #expect(build.status == 0, "\(build.stderr)")
            #expect(build.stderr.contains("step 1/1: mkdir -p /srv"), "progress is shown: \(build.stderr)")
            #expect(build.stdout.contains("tools: built from host, 1 step(s)"), "\(build.stdout)")
            let again = try await CLI.run(
                ["template", "build", "tools", "--install", "mkdir -p /srv && echo from-template > /srv/t"],
                server: server)
            #expect(again.stdout.contains("tools: up to date"), "\(again.stdout)")
            #expect(try await CLI.run(["template", "list"], server: server).stdout.contains("tools"))

            let failed = try await CLI.run(
                ["template", "build", "broken", "--install", "echo nope >&2; exit 2"], server: server)
            #expect(failed.status == 1)
            #expect(failed.stderr.contains("install step 1") && failed.stderr.contains("nope"), "\(failed.stderr)")

            let created = try await CLI.run(["session", "create", "--template", "tools", "--json"], server: server)
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))
            _ = try await CLI.run(["exec", session.id, "--", "sh", "-c", "echo work > /workspace/w"], server: server)

            let snap = try await CLI.run(["snapshot", "create", session.id, "--name", "ready"], server: server)
            #expect(snap.status == 0 && snap.stdout.contains("(ready)"), "\(snap.stdout)\(snap.stderr)")
            #expect(try await CLI.run(["snapshot", "list"], server: server).stdout.contains("ready"))
            // A runc session's processes cannot be kept, and the refusal says what to do instead.
            let processes = try await CLI.run(
                ["snapshot", "create", session.id, "--keeps", "processes"], server: server)
            #expect(processes.status != 0 && processes.stderr.contains("--keeps files"), "\(processes.stderr)")
            let bogus = try await CLI.run(["snapshot", "create", session.id, "--keeps", "memory"], server: server)
            #expect(bogus.status != 0 && bogus.stderr.contains("'files' or 'processes'"), "\(bogus.stderr)")

            let restored = try await CLI.run(
                ["session", "create", "--template", "tools", "--from-snapshot", "ready", "--json"], server: server)
            let r = try APICoding.decoder().decode(SessionBody.self, from: Data(restored.stdout.utf8))
            #expect(r.snapshot != nil)
            let cat = try await CLI.run(["exec", r.id, "--", "cat", "/workspace/w", "/srv/t"], server: server)
            #expect(cat.stdout == "work\nfrom-template\n", "\(cat.stderr)")

            let fork = try await CLI.run(["session", "fork", session.id, "--count", "2"], server: server)
            let children = fork.stdout.split(separator: "\n").map(String.init)
            #expect(fork.status == 0 && children.count == 2, "\(fork.stdout)\(fork.stderr)")
            for child in children {
                #expect(
                    try await CLI.run(["exec", child, "--", "cat", "/workspace/w"], server: server).stdout == "work\n")
                let get = try await CLI.run(["session", "get", child], server: server)
                #expect(get.stdout.contains("fork of:   \(session.id)"), "\(get.stdout)")
            }

            let wrongTemplate = try await CLI.run(["session", "create", "--from-snapshot", "ready"], server: server)
            #expect(
                wrongTemplate.status == 1 && wrongTemplate.stderr.contains("--template tools"),
                "\(wrongTemplate.stderr)")
            #expect(
                try await CLI.run(["snapshot", "rm", "ready"], server: server).stdout
                    == "removed \(snap.stdout.prefix(16))\n")
            let gone = try await CLI.run(["session", "create", "--from-snapshot", "ready"], server: server)
            #expect(gone.status == 1 && gone.stderr.contains("does not exist"), "\(gone.stderr)")
        }
    }
}
