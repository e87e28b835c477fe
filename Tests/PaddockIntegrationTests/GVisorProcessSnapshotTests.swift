import Foundation
import PaddockCore
import PaddockLinux
import PaddockServices
import PaddockTestSupport
import Testing

/// Snapshots that keep processes (`keeps: processes`, gVisor): the parent goes on, and sessions started from the
/// snapshot, or forked with their processes, continue them from that moment in sandboxes of their own.
@Suite(.needsSandboxes, .serialized)
struct GVisorProcessSnapshotTests {
    /// Whether gVisor checkpoints and restores on this host, found once by `paddock doctor`'s own probe.
    static let checkpointWorks = Task { () -> Bool in
        guard await LimitsTests.available("gvisor") else { return false }
        let runsc = await TestHost.capabilities().runtimes.first { $0.name == "runsc" && $0.usable }
        guard let path = runsc?.path else { return false }
        let outcome = await GVisorCheckpointProbe.run(runsc: path, version: runsc?.version)
        if !outcome.works { print("skipped: \(outcome.detail)") }
        return outcome.works
    }

    /// A process whose value lives in its memory: it tells it when asked (`/tmp/ask`) and takes a new one when
    /// given (`/tmp/set`). It writes its first value to a file at once, which the test reads to know it.
    static let keeper = """
        import os, secrets, time
        value = secrets.token_hex(16)
        open('/tmp/before', 'w').write(value)
        while True:
            if os.path.exists('/tmp/set'):
                value = open('/tmp/set').read().strip()
                os.remove('/tmp/set')
                open('/tmp/set.done', 'w').close()
            if os.path.exists('/tmp/ask'):
                os.remove('/tmp/ask')
                open('/tmp/answer.part', 'w').write(value)
                os.rename('/tmp/answer.part', '/tmp/answer')
            time.sleep(0.05)
        """

    /// What the session's keeper holds in memory now.
    static func ask(_ id: SessionID, _ sessions: SessionService) async throws -> String {
        try await sessions.sh(
            id,
            "rm -f /tmp/answer; touch /tmp/ask; for i in $(seq 1 1200); do [ -e /tmp/answer ] && break; "
                + "sleep 0.05; done; cat /tmp/answer"
        ).stdout
    }

    static func set(_ id: SessionID, _ value: String, _ sessions: SessionService) async throws {
        let r = try await sessions.sh(
            id,
            "echo \(value) > /tmp/set.part && mv /tmp/set.part /tmp/set; for i in $(seq 1 1200); do "
                + "[ -e /tmp/set.done ] && break; sleep 0.05; done; rm /tmp/set.done")
        try #require(r.status.code == 0, "the keeper did not take its new value: \(r.stderr)")
    }

    @Test(.enabled("needs gVisor that checkpoints on this host (make deps)") { await checkpointWorks.value })
    func aSnapshotKeepsProcessesThatNewSessionsAndForksContinue() async throws {
        try await withTestStack("gvisor-ps1") { stack in
            let gvisor = try #require(stack.gvisor)
            let parent = try await stack.sessions.create(SessionSpec(provider: "gvisor"))
            let value = try await GVisorDiskPauseTests.startKeeper(parent.id, stack.sessions, script: Self.keeper)
            _ = try await stack.sessions.sh(parent.id, "echo parent > /workspace/note")

            let snapshot = try await stack.sessions.snapshot(parent.id, name: nil, keeps: .processes)
            #expect(snapshot.keeps == .processes)
            #expect(try await stack.sessions.snapshotRecord(snapshot.id).keeps == .processes)
            let image = "\(stack.dataDirectory)/gvisor/processes/\(snapshot.layer)"
            #expect(FileManager.default.fileExists(atPath: image), "the checkpoint is kept with the snapshot")
            // The parent goes on, its init listening again.
            #expect(try await stack.sessions.get(parent.id).state == .running)
            #expect(try await Self.ask(parent.id, stack.sessions) == value)

            var spec = SessionSpec(provider: "gvisor")
            spec.snapshot = snapshot.id
            let child = try await stack.sessions.create(spec)
            #expect(child.id != parent.id)
            #expect(child.start?.contains("snapshot's processes") == true, "\(child.start ?? "-")")
            // The child's Python is the parent's, from the snapshot's moment: it holds the same value.
            #expect(try await Self.ask(child.id, stack.sessions) == value)
            #expect(try await stack.sessions.run(child.id, ["pgrep", "-c", "python3"]).stdout == "1\n")
            // What the child changes, in memory or on disk, the parent never sees.
            try await Self.set(child.id, "changedinchild", stack.sessions)
            _ = try await stack.sessions.sh(child.id, "echo child > /workspace/note")
            #expect(try await Self.ask(child.id, stack.sessions) == "changedinchild")
            #expect(try await Self.ask(parent.id, stack.sessions) == value)
            #expect(try await stack.sessions.sh(parent.id, "cat /workspace/note").stdout == "parent\n")

            // A fork with processes: each child restores the same moment into its own sandbox.
            let forks = try await stack.sessions.fork(parent.id, count: 2, keeps: .processes)
            #expect(forks.count == 2)
            for fork in forks { #expect(try await Self.ask(fork.id, stack.sessions) == value) }
            // The fork's own layer and checkpoint are not kept once its children started.
            let images = try FileManager.default.contentsOfDirectory(atPath: "\(stack.dataDirectory)/gvisor/processes")
            #expect(images == [snapshot.layer], "\(images)")

            // Removing the snapshot removes its checkpoint too.
            try await stack.sessions.deleteSnapshot(snapshot.id)
            #expect(!FileManager.default.fileExists(atPath: image), "the snapshot's checkpoint is collected")
            #expect(try await stack.sessions.sh(child.id, "echo alive").stdout == "alive\n")

            for id in [parent.id, child.id] + forks.map(\.id) {
                try await stack.sessions.destroy(id)
                #expect(await gvisor.leftovers(of: id) == [])
            }
        }
    }

    @Test(.enabled("needs gVisor that checkpoints on this host (make deps)") { await checkpointWorks.value })
    func aProcessSnapshotIsRefusedWhileACommandIsAttachedOrWithOtherLimits() async throws {
        try await withTestStack("gvisor-ps2") { stack in
            let s = try await stack.sessions.create(SessionSpec(provider: "gvisor"))
            let handle = try await stack.sessions.exec(s.id, SessionCommand(["sleep", "600"]), by: .system)
            await #expect {
                try await stack.sessions.snapshot(s.id, name: nil, keeps: .processes)
            } throws: { error in
                (error as? PaddockError)?.code == .conflict && "\(error)".contains("attached")
            }
            try await handle.signal(SIGKILL)
            for try await _ in handle.events {}

            // A paused session is snapshotted with its processes and stays paused.
            _ = try await stack.sessions.pause(s.id)
            let snapshot = try await stack.sessions.snapshot(s.id, name: nil, keeps: .processes)
            #expect(try await stack.sessions.get(s.id).state == .paused)
            _ = try await stack.sessions.resume(s.id)
            #expect(try await stack.sessions.sh(s.id, "echo alive").stdout == "alive\n")

            var spec = SessionSpec(provider: "gvisor")
            spec.snapshot = snapshot.id
            spec.limits.memory = .mebibytes(300)
            await #expect {
                try await stack.sessions.create(spec)
            } throws: { error in
                (error as? PaddockError)?.code == .invalidArgument && "\(error)".contains("same limits")
            }
        }
    }

    @Test func aRuncSessionsProcessesAreNotKept() async throws {
        try await withTestStack("runc-procsnap") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            await #expect {
                try await stack.sessions.snapshot(s.id, name: nil, keeps: .processes)
            } throws: { error in
                (error as? PaddockError)?.code == .unavailable && "\(error)".contains("--keeps files")
            }
            await #expect {
                try await stack.sessions.fork(s.id, count: 1, keeps: .processes)
            } throws: { error in
                "\(error)".contains("gVisor")
            }
            #expect(try await stack.sessions.get(s.id).state == .running)
            #expect(try await stack.sessions.list(includeEnded: false).count == 1, "a refused fork leaves no child")
        }
    }
}
