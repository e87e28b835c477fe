import Foundation
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// Pause freezes a session's processes (no CPU; memory and files kept); resume, or any work sent to it,
/// continues them where they stopped.
@Suite(.needsSandboxes, .serialized)
struct PauseResumeTests {
    /// Reads the sandbox's counter file from the host side: a frozen init cannot serve it.
    static func counter(_ stack: TestStack, _ id: SessionID) -> Int {
        let path = "\(stack.dataDirectory)/sessions/\(id.rawValue)/rootfs/workspace/count"
        return Int(
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
            ?? -1
    }

    @Test func pausedProcessesStopAndResumeWhereTheyWere() async throws {
        try await withTestStack("pause") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            _ = try await stack.sessions.sh(
                s.id,
                // Written aside and renamed: the host reads the file at any moment, and `>` truncates before it writes.
                "(i=0; while true; do i=$((i+1)); echo $i > /workspace/.count; mv /workspace/.count /workspace/count; "
                    + "sleep 0.05; done) >/dev/null 2>&1 &"
            )
            try await Task.sleep(for: .milliseconds(300))
            #expect(Self.counter(stack, s.id) > 0)

            let paused = try await stack.sessions.pause(s.id)
            #expect(paused.state == .paused)
            let frozenAt = Self.counter(stack, s.id)
            try await Task.sleep(for: .milliseconds(500))
            #expect(Self.counter(stack, s.id) == frozenAt, "a paused session uses no CPU")
            await #expect(throws: PaddockError.self) { try await stack.sessions.pause(s.id) }

            #expect(try await stack.sessions.resume(s.id).state == .running)
            try await Task.sleep(for: .milliseconds(300))
            #expect(Self.counter(stack, s.id) > frozenAt, "the same process continues after resume")
        }
    }

    @Test func workSentToAPausedSessionResumesIt() async throws {
        try await withTestStack("pause-auto") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            _ = try await stack.sessions.sh(s.id, "echo kept > /workspace/f; sleep 1000 >/dev/null 2>&1 &")
            try await stack.sessions.pause(s.id)
            let r = try await stack.sessions.sh(s.id, "cat /workspace/f; pgrep -c sleep")
            #expect(r.stdout == "kept\n1\n")
            #expect(try await stack.sessions.get(s.id).state == .running)
        }
    }

    @Test func pausedSessionsCanBeDestroyedAndSurviveARestart() async throws {
        let dir = TestHost.makeDataDirectory("pause-restart")
        defer { TestHost.removeDataDirectory(dir) }
        let first = try await TestStack.make("pause-restart", dataDirectory: dir)
        let kept = try await first.sessions.create(SessionSpec())
        _ = try await first.sessions.sh(kept.id, "sleep 1000 >/dev/null 2>&1 &")
        try await first.sessions.pause(kept.id)
        let doomed = try await first.sessions.create(SessionSpec())
        try await first.sessions.pause(doomed.id)
        try await first.sessions.destroy(doomed.id)
        #expect(await first.provider.leftovers(of: doomed.id) == [])

        let second = try await TestStack.make("pause-restart", dataDirectory: dir)
        try await second.sessions.recover()
        #expect(try await second.sessions.get(kept.id).state == .paused)
        let r = try await second.sessions.sh(kept.id, "pgrep -c sleep")
        #expect(r.stdout == "1\n", "the frozen process survived the restart and continues")
        try await second.tearDown()
    }
}

/// `idle`: a session nobody uses is paused by the server, and the next call resumes it.
@Suite(.needsSandboxes, .serialized)
struct IdleTests {
    static func waitFor(_ state: SessionState, _ id: SessionID, _ stack: TestStack, within: Duration) async throws
        -> Bool
    {
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            if try await stack.sessions.get(id).state == state { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test func idleSessionsArePausedAndResumedByTheNextCall() async throws {
        try await withTestStack("idle") { stack in
            var spec = SessionSpec()
            spec.idleSeconds = 1
            let idle = try await stack.sessions.create(spec)
            let busy = try await stack.sessions.create(spec)
            let never = try await stack.sessions.create(SessionSpec())
            let reaper = Task { try await SessionReaper(sessions: stack.sessions, interval: .milliseconds(100)).run() }
            defer { reaper.cancel() }
            // A followed command keeps its session awake for as long as it runs: this one until the test says.
            let followed = Task {
                try await stack.sessions.sh(busy.id, "while [ ! -e /tmp/go ]; do sleep 0.1; done; echo done")
            }

            #expect(try await Self.waitFor(.paused, idle.id, stack, within: .seconds(60)))
            #expect(try await stack.sessions.get(busy.id).state == .running)
            _ = try await stack.sessions.sh(busy.id, "touch /tmp/go")
            #expect(try await followed.value.stdout == "done\n")
            #expect(
                try await Self.waitFor(.paused, busy.id, stack, within: .seconds(60)), "idle once the command ended")
            #expect(try await stack.sessions.get(never.id).state == .running)

            reaper.cancel()
            #expect(try await stack.sessions.sh(idle.id, "echo back").stdout == "back\n")
            #expect(try await stack.sessions.get(idle.id).state == .running)
        }
    }
}
