import Foundation
import PaddockAPI
import PaddockCore
import PaddockStore
import PaddockTestSupport
import Testing

/// `paddock automations` and `/hooks/<id>` against a real `paddock server` process and real sandboxes: create,
/// dry-run, a signed webhook starting the agent, a replay starting nothing, a bad signature refused, and an event
/// acknowledged just before a `kill -9` run exactly once after the restart.
@Suite(.needsSandboxes, .serialized)
struct AutomationCLITests {
    typealias CLI = CLITests.CLI
    typealias Server = CLITests.ServerProcess

    static let flags = [
        "--agent-command", #"echo=["/bin/sh","-c","echo \"got: $0\"","{prompt}"]"#, "--default-agent", "echo",
    ]

    static func paddock(_ args: [String], _ server: Server) async throws -> CLITests.CLIResult {
        try await AccessCLITests.paddock(args, server)
    }

    /// POSTs `body` to the server with curl (the CLI has no webhook sender, on purpose); returns status and body.
    static func post(_ server: Server, _ path: String, body: String, headers: [String]) throws -> (Int, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments =
            ["-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", "--data-binary", body]
            + headers.flatMap { ["-H", $0] } + ["http://127.0.0.1:\(server.port)\(path)"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    static func history(_ server: Server, _ id: String) async throws -> [Invocation] {
        let out = try await paddock(["automations", "history", id, "--json"], server)
        return try APICoding.decoder().decode(InvocationListBody.self, from: Data(out.stdout.utf8)).invocations.map(
            \.invocation)
    }

    /// Polls the history until `condition` holds (the agent runs in the background).
    static func waitFor(_ server: Server, _ id: String, _ condition: ([Invocation]) -> Bool) async throws
        -> [Invocation]
    {
        let deadline = ContinuousClock.now + .seconds(120)
        var last: [Invocation] = []
        while ContinuousClock.now < deadline {
            last = try await history(server, id)
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("the history never got there: \(last)")
        return last
    }

    @Test func aSignedWebhookStartsTheAgentOnceEvenAcrossAKill() async throws {
        let origin = try GitFixture.make("automation-cli", files: ["README.md": "hello\n"])
        defer { origin.remove() }
        let server = try await Server(extraArguments: Self.flags)
        do {
            #expect(try await Self.paddock(["projects", "add", "web", "--repo", origin.origin], server).status == 0)
            let created = try await Self.paddock(
                [
                    "automations", "create", "triage", "--source", "webhook", "--project", "web", "--prompt",
                    "Fix: {{payload.alert.title}}", "--idempotency-key", "json:alert.id", "--json",
                ], server)
            let body = try APICoding.decoder().decode(AutomationBody.self, from: Data(created.stdout.utf8))
            let id = body.automation.id
            let secret = try #require(body.secret)
            #expect(body.hook == "/hooks/\(id)")

            // A dry run shows the prompt and starts nothing.
            let eventFile = server.dataDirectory + "/event.json"
            let event = #"{"alert": {"id": "a1", "title": "checkout is down"}}"#
            try Data(event.utf8).write(to: URL(fileURLWithPath: eventFile))
            let dry = try await Self.paddock(["automations", "test", id, "--event", eventFile], server)
            #expect(dry.stdout.contains("would start") && dry.stdout.contains("Fix: checkout is down"), "\(dry)")
            #expect(try await Self.history(server, id).isEmpty)

            // Unsigned: 401. Signed: 202 with the invocation, then the agent runs in a real sandbox.
            let (refused, _) = try Self.post(server, "/hooks/\(id)", body: event, headers: ["Authorization: Bearer no"])
            #expect(refused == 401)
            let (status, answer) = try Self.post(
                server, "/hooks/\(id)", body: event,
                headers: ["Authorization: Bearer \(secret)", "Content-Type: application/json"])
            #expect(status == 202, "\(answer)")
            #expect(answer.contains("\"invocation\""), "\(answer)")
            var done = try await Self.waitFor(server, id) { $0.first?.outcome != nil }
            #expect(done.first?.decision == .started && done.first?.outcome == "completed", "\(done)")
            #expect(done.first?.prompt == "Fix: checkout is down")
            // The same alert again (PagerDuty retries): recorded, nothing started.
            _ = try Self.post(server, "/hooks/\(id)", body: event, headers: ["Authorization: Bearer \(secret)"])
            done = try await Self.waitFor(server, id) { $0.count == 2 }
            #expect(done.first?.decision == .deduplicated)

            // Acknowledged, then the server is killed before it processed the event: stored, never started.
            await server.crash()
            let store = try SQLiteStore(path: server.dataDirectory + "/paddock.sqlite")
            let pending = try await store.insertInvocation(
                Invocation(
                    automation: id, receivedAt: Date(), dedupeKey: "json:a2", trigger: "webhook",
                    event: .object(["alert": .object(["id": .string("a2"), "title": .string("after the kill")])])))
            #expect(pending.decision == .pending)
            try await server.start()
            done = try await Self.waitFor(server, id) { list in
                list.contains { $0.id == pending.id && $0.outcome != nil }
            }
            let recovered = try #require(done.first { $0.id == pending.id })
            #expect(recovered.decision == .started && recovered.prompt == "Fix: after the kill", "\(recovered)")
            // Exactly one session for it.
            let sessions = try await Self.paddock(["session", "list", "--all", "--json"], server)
            let list = try APICoding.decoder().decode(SessionListBody.self, from: Data(sessions.stdout.utf8))
            #expect(list.sessions.filter { $0.name == recovered.sessionName }.count == 1, "\(sessions.stdout)")

            // Pause, resume, remove.
            #expect(
                try await Self.paddock(["automations", "pause", id, "--reason", "maintenance"], server).status == 0)
            let shown = try await Self.paddock(["automations", "show", id], server)
            #expect(shown.stdout.contains("paused by owner: maintenance"), "\(shown)")
            #expect(try await Self.paddock(["automations", "resume", id], server).status == 0)
            #expect(try await Self.paddock(["automations", "rm", id], server).status == 0)
            let gone = try await Self.paddock(["automations", "show", id], server)
            #expect(gone.status != 0 && gone.stderr.contains("does not exist"), "\(gone)")
        } catch {
            try? await server.stop()  // the test's error is the one reported
            throw error
        }
        try await server.stop()
    }
}
