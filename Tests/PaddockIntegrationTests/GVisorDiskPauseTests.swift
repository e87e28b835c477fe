import Foundation
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// `paddock session stop --to-disk`: a gVisor sandbox written whole to disk holds no memory and comes back with
/// its processes where they were.
@Suite(.needsSandboxes, .serialized)
struct GVisorDiskPauseTests {
    typealias CLI = CLITests.CLI

    /// A process that keeps a random value in memory only, and tells it when asked (a file appears). It writes
    /// the value to a file at once too, which the test reads before the stop to disk.
    static let keeper = """
        import os, secrets, time
        value = secrets.token_hex(16)
        open('/tmp/before', 'w').write(value)
        while not os.path.exists('/tmp/ask'):
            time.sleep(0.05)
        open('/tmp/answer.part', 'w').write(value)
        os.rename('/tmp/answer.part', '/tmp/answer')
        """

    /// Starts `script` (a keeper that writes its value to /tmp/before) detached, and returns that value.
    static func startKeeper(_ id: SessionID, _ sessions: SessionService, script: String = keeper) async throws
        -> String
    {
        let started = try await sessions.sh(
            id,
            "cat > /tmp/keeper.py <<'EOF'\n\(script)\nEOF\nsetsid -f python3 /tmp/keeper.py >/dev/null 2>&1; "
                + "for i in $(seq 1 600); do [ -s /tmp/before ] && break; sleep 0.05; done; cat /tmp/before")
        try #require(started.stdout.count == 32, "the keeper did not start: \(started.stderr)")
        return started.stdout
    }

    /// What the keeper remembers, asked after a resume.
    static func ask(_ id: SessionID, _ sessions: SessionService) async throws -> String {
        try await sessions.sh(
            id,
            "touch /tmp/ask; for i in $(seq 1 600); do [ -e /tmp/answer ] && break; sleep 0.05; done; cat /tmp/answer"
        ).stdout
    }

    @Test(.enabled("needs a runsc that contains limits (make deps)") { await LimitsTests.available("gvisor") })
    func aSessionStoppedToDiskHoldsNoMemoryAndResumesWithItsProcesses() async throws {
        try await withTestStack("gvisor-disk") { stack in
            let gvisor = try #require(stack.gvisor)
            let s = try await stack.sessions.create(SessionSpec(provider: "gvisor"))
            let value = try await Self.startKeeper(s.id, stack.sessions)

            let paused = try await stack.sessions.pause(s.id, toDisk: true, by: .system)
            #expect(paused.state == .paused)
            let image = "\(stack.dataDirectory)/gvisor/sessions/\(s.id.rawValue)/checkpoint"
            #expect(FileManager.default.fileExists(atPath: image + "/complete"))
            // Nothing of the sandbox runs on the host any more: its memory is released.
            #expect(await gvisor.exited(s.id, within: .seconds(60)))
            let memory = try await gvisor.stats(s.id).memoryBytes
            #expect(memory < 1 << 20, "the sandbox's cgroup still holds \(memory) bytes")
            // Stopping it again is a conflict (it is paused), and the image stays.
            await #expect(throws: PaddockError.self) { try await stack.sessions.pause(s.id, toDisk: true, by: .system) }

            // Any call resumes it transparently: the process kept its value across the stop.
            #expect(try await Self.ask(s.id, stack.sessions) == value)
            #expect(try await stack.sessions.get(s.id).state == .running)
            #expect(!FileManager.default.fileExists(atPath: image), "the image is removed once restored")
            let audit = try #require(await stack.sessions.audit)
            let trail = try await audit.events(session: s.id)
            #expect(trail.contains { $0.kind == "session.pause" && $0.fields["to"] == .string("disk") })

            // And it can go to disk again: the restored init listens and lets go of its sockets as before.
            _ = try await stack.sessions.pause(s.id, toDisk: true, by: .system)
            _ = try await stack.sessions.resume(s.id, by: .system)
            #expect(try await stack.sessions.sh(s.id, "echo again").stdout == "again\n")
            try await stack.sessions.destroy(s.id)
            #expect(await gvisor.leftovers(of: s.id) == [])
        }
    }

    @Test(.enabled("needs a runsc that contains limits (make deps)") { await LimitsTests.available("gvisor") })
    func anIdleGVisorSessionGoesToDisk() async throws {
        try await withTestStack("gvisor-disk-idle") { stack in
            var spec = SessionSpec(provider: "gvisor")
            spec.idleSeconds = 1
            let s = try await stack.sessions.create(spec)
            // The reaper's pass, repeated until the idle second has passed (the first pass starts the clock).
            let deadline = ContinuousClock.now + .seconds(60)
            while try await stack.sessions.get(s.id).state == .running, ContinuousClock.now < deadline {
                await stack.sessions.pauseIdle()
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await stack.sessions.get(s.id).state == .paused)
            let image = "\(stack.dataDirectory)/gvisor/sessions/\(s.id.rawValue)/checkpoint/complete"
            #expect(FileManager.default.fileExists(atPath: image), "an idle gVisor session is stopped to disk")
            #expect(try await stack.sessions.sh(s.id, "echo back").stdout == "back\n")
        }
    }

    @Test(.enabled("needs a runsc that contains limits (make deps)") { await LimitsTests.available("gvisor") })
    func aSessionWithAnAttachedCommandIsNotStoppedToDisk() async throws {
        try await withTestStack("gvisor-disk-busy") { stack in
            let s = try await stack.sessions.create(SessionSpec(provider: "gvisor"))
            let handle = try await stack.sessions.exec(s.id, SessionCommand(["sleep", "600"]), by: .system)
            await #expect {
                try await stack.sessions.pause(s.id, toDisk: true, by: .system)
            } throws: { error in
                (error as? PaddockError)?.code == .conflict && "\(error)".contains("attached")
            }
            #expect(try await stack.sessions.get(s.id).state == .running)
            try await handle.signal(SIGKILL)
            for try await _ in handle.events {}
            #expect(try await stack.sessions.sh(s.id, "echo alive").stdout == "alive\n")
        }
    }

    @Test func aRuncSessionIsToldToPauseInMemory() async throws {
        try await withTestStack("runc-disk") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            await #expect {
                try await stack.sessions.pause(s.id, toDisk: true, by: .system)
            } throws: { error in
                (error as? PaddockError)?.code == .unavailable && "\(error)".contains("without --to-disk")
            }
            #expect(try await stack.sessions.get(s.id).state == .running)
        }
    }

    /// A server restart finds the stopped sandbox on disk, keeps its session paused, and resumes it on the next
    /// call, processes included.
    @Test(.enabled("needs a runsc that contains limits (make deps)") { await LimitsTests.available("gvisor") })
    func aRestartedServerKeepsASessionStoppedToDiskResumable() async throws {
        try await CLITests.withServer { server in
            let created = try await CLI.run(
                ["session", "create", "--provider", "gvisor", "--ttl", "30m", "--json"], server: server)
            try #require(created.status == 0, "\(created.stderr)")
            let id = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8)).id
            let wrote = try await CLI.run(
                ["exec", id, "--", "sh", "-c", "echo kept > note.txt; setsid -f sleep 1000 >/dev/null 2>&1"],
                server: server)
            #expect(wrote.status == 0, "\(wrote.stderr)")
            let stopped = try await CLI.run(["session", "stop", "--to-disk", id], server: server)
            #expect(stopped.status == 0 && stopped.stdout.contains("stopped to disk"), "\(stopped.stderr)")

            await server.crash()
            try await server.start()

            #expect(try await RestartTests.state(id, server) == "paused")
            let read = try await CLI.run(["exec", id, "--", "cat", "note.txt"], server: server)
            #expect(read.status == 0 && read.stdout == "kept\n", "\(read.stderr)")
            let sleepers = try await CLI.run(["exec", id, "--", "pgrep", "-c", "sleep"], server: server)
            #expect(sleepers.stdout == "1\n", "the process stopped to disk lives on: \(sleepers.stderr)")
            let destroyed = try await CLI.run(["session", "destroy", id], server: server)
            #expect(destroyed.status == 0, "\(destroyed.stderr)")
        }
    }
}
