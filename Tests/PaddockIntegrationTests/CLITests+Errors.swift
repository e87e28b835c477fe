import Foundation
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// What the CLI says when something goes wrong must be true: local file problems name the local file, and
/// a secret a person types never reaches the audit trail.
extension CLITests {
    static func createSession(_ server: ServerProcess, _ extra: [String] = []) async throws -> String {
        let created = try await CLI.run(["session", "create", "--json"] + extra, server: server)
        #expect(created.status == 0, "\(created.stderr)")
        return try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8)).id
    }

    @Test func copyReadsStdinAndWritesStdoutAndBlamesLocalFiles() async throws {
        try await Self.withServer { server in
            let id = try await Self.createSession(server)
            // A pipe has no size: it used to be announced as 0 bytes, and the mismatch was reported as an
            // unreachable server.
            let devStdin = try await CLI.run(
                ["cp", "/dev/stdin", "\(id):/workspace/a.txt"], server: server, stdin: "one\n")
            #expect(devStdin.status == 0, "\(devStdin.stderr)")
            let dash = try await CLI.run(["cp", "-", "\(id):/workspace/b.txt"], server: server, stdin: "two\n")
            #expect(dash.status == 0, "\(dash.stderr)")
            let proc = try await CLI.run(["cp", "/proc/self/status", "\(id):/workspace/c.txt"], server: server)
            #expect(proc.status == 0, "\(proc.stderr)")
            let back = try await CLI.run(["cp", "\(id):/workspace/a.txt", "-"], server: server)
            #expect(back.status == 0 && back.stdout == "one\n", "\(back.stderr)")
            #expect(try await CLI.run(["cp", "\(id):/workspace/b.txt", "-"], server: server).stdout == "two\n")
            let status = try await CLI.run(
                ["exec", id, "--", "grep", "-c", "^Name:", "/workspace/c.txt"], server: server)
            #expect(status.stdout == "1\n")

            // Local trouble is described as local trouble.
            let missing = try await CLI.run(["cp", "/no/such/file", "\(id):/workspace/x"], server: server)
            #expect(missing.status == 1 && missing.stderr.contains("/no/such/file"), "\(missing.stderr)")
            let unreadable = try await CLI.run(["cp", "/proc/self/mem", "\(id):/workspace/x"], server: server)
            #expect(unreadable.status == 1 && unreadable.stderr.contains("/proc/self/mem"), "\(unreadable.stderr)")
            let unwritable = try await CLI.run(["cp", "\(id):/workspace/a.txt", "/no/such/dir/a.txt"], server: server)
            #expect(unwritable.status == 1 && unwritable.stderr.contains("/no/such/dir"), "\(unwritable.stderr)")
            for r in [missing, unreadable, unwritable] {
                #expect(!r.stderr.contains("cannot reach"), "\(r.stderr)")
            }
            let both = try await CLI.run(["cp", "-", "-"], server: server, stdin: "x")
            #expect(both.status != 0 && both.stderr.contains("SESSION:PATH"), "\(both.stderr)")
        }
    }

    @Test func helpListsEachCommandOnce() async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestHost.paddockBinary)
        p.arguments = ["--help"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let names = text.split(separator: "\n").filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(names.contains("pool") && names.contains("template") && names.contains("exec"), "\(text)")
        #expect(
            Set(names).count == names.count, "listed twice: \(names.filter { n in names.filter { $0 == n }.count > 1 })"
        )
    }

    /// A secret typed on a command line (argv, --env) is in the trail only as `[secret:NAME]`, and the
    /// chain still verifies: the redaction happens before the event is hashed.
    @Test func aTypedSecretIsRedactedFromTheAuditTrail() async throws {
        try await Self.withServer { server in
            let value = "sk_live_\(UUID().uuidString)"
            let set = try await CLI.run(
                ["secrets", "set", "STRIPE_API_KEY", "--hosts", "api.stripe.com"], server: server, stdin: value + "\n")
            #expect(set.status == 0, "\(set.stderr)")
            let id = try await Self.createSession(server, ["--secret", "STRIPE_API_KEY"])
            let typed = try await CLI.run(
                [
                    "exec", "--env", "TOKEN=\(value)", id, "--", "sh", "-c",
                    "echo \"Authorization: Bearer \(value)\" >/dev/null",
                ], server: server)
            #expect(typed.status == 0, "\(typed.stderr)")
            let export = try await CLI.run(["audit", "export", id], server: server)
            #expect(export.status == 0 && !export.stdout.isEmpty, "\(export.stderr)")
            #expect(!export.stdout.contains(value))
            #expect(export.stdout.contains("Bearer [secret:STRIPE_API_KEY]"), "\(export.stdout)")
            let show = try await CLI.run(["audit", "show", id], server: server)
            #expect(!show.stdout.contains(value) && show.stdout.contains("[secret:STRIPE_API_KEY]"))
            let verify = try await CLI.run(["audit", "verify", id], server: server)
            #expect(verify.status == 0 && verify.stdout.contains("chain intact"), "\(verify.stdout)")
            for file in ["paddock.sqlite", "paddock.sqlite-wal"] {
                let bytes = Array(FileManager.default.contents(atPath: server.dataDirectory + "/" + file) ?? Data())
                #expect(!bytes.contains(Array(value.utf8)), "\(file) holds the typed secret")
            }
        }
    }
}
