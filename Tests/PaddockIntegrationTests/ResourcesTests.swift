import Foundation
import PaddockAPI
import PaddockCore
import PaddockTestSupport
import Testing

/// Live per-session resources: `GET /v1/resources` (one reading, or a stream with `follow=1`) and `paddock top`,
/// against a real server with a real sandbox.
@Suite(.needsSandboxes, .serialized)
struct ResourcesTests {
    typealias CLI = CLITests.CLI

    @Test func topShowsARunningSessionOnceAndLive() async throws {
        try await CLITests.withServer { server in
            let created = try await CLI.run(["session", "create", "--name", "busy", "--json"], server: server)
            try #require(created.status == 0, "\(created.stderr)")
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))
            // Something to measure: a process that keeps a core busy for a while.
            let spin = try await CLI.run(
                ["exec", session.id, "--", "sh", "-c", "(timeout 20 sh -c 'while :; do :; done' &) ; true"],
                server: server)
            #expect(spin.status == 0, "\(spin.stderr)")

            // One reading, as JSON: the session with its memory, its limits and a CPU figure.
            let once = try await CLI.run(["top", "--json"], server: server)
            try #require(once.status == 0, "\(once.stderr)")
            let reading = try APICoding.decoder().decode(ResourceSnapshot.self, from: Data(once.stdout.utf8))
            let row = try #require(reading.sessions.first { $0.session.rawValue == session.id }, "\(once.stdout)")
            #expect(row.name == "busy")
            #expect(row.memoryBytes > 0 && row.memoryLimitBytes >= row.memoryBytes)
            #expect(row.pids >= 1)
            let cpu = try #require(row.cpuPercent, "a first look is the session's average since it started")
            #expect(cpu > 0, "\(cpu)")

            // One session's reading through its own route.
            let mine = try await CLI.run(["top", session.id, "--json"], server: server)
            #expect(mine.status == 0, "\(mine.stderr)")
            #expect(mine.stdout.contains(session.id))

            // The live table: redrawn in place (cursor home, clear) once per reading of the stream.
            let live = try await CLI.run(["top", "--interval", "500ms", "--count", "3"], server: server)
            #expect(live.status == 0, "\(live.stderr)")
            #expect(live.stdout.components(separatedBy: "\u{1B}[H\u{1B}[2J").count == 4, "\(live.stdout)")
            #expect(live.stdout.contains(session.id) && live.stdout.contains("busy"))
            #expect(live.stdout.contains("CPU%") && live.stdout.contains("NET DOWN"))

            // A bad interval is refused with what to write instead.
            let bad = try await CLI.run(["top", "--interval", "1ms", "--count", "1"], server: server)
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("between 250ms and 5m"), "\(bad.stderr)")

            let destroyed = try await CLI.run(["session", "destroy", session.id], server: server)
            #expect(destroyed.status == 0, "\(destroyed.stderr)")
            let gone = try await CLI.run(["top", "--json"], server: server)
            #expect(!gone.stdout.contains(session.id))
        }
    }
}
