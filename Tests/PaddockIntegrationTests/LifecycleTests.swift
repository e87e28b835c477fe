import Foundation
import PaddockCore
import PaddockLinux
import PaddockSandbox
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// Exec semantics, files, TTL, exact cleanup and restart recovery, on real sandboxes.
@Suite(.needsSandboxes, .serialized)
struct LifecycleTests {
    @Test func exitCodesAndSeparateStreams() async throws {
        try await withTestStack("life-exec") { stack in
            let s = try await stack.sessions.create(SessionSpec(env: ["GREETING": "hello"]))
            let r = try await stack.sessions.sh(s.id, "echo $GREETING; echo oops >&2; exit 3")
            #expect(r.stdout == "hello\n")
            #expect(r.stderr == "oops\n")
            #expect(r.status == ExitStatus(code: 3))
            let killed = try await stack.sessions.sh(s.id, "kill -TERM $$")
            #expect(killed.status.signal == 15 && killed.status.code == 143)
            let pwd = try await stack.sessions.run(s.id, ["pwd"])
            #expect(pwd.stdout == "/workspace\n")
        }
    }

    @Test func sessionsStartedAtOnceOnANewHostShareOneTemplatePreparation() async throws {
        try await withTestStack("life-first") { stack in
            // A new data directory has no host template yet, so all three starts need it at the same moment
            // (two used to build it into one staging directory and fail with "linking bin: File exists").
            let ids = try await withThrowingTaskGroup(of: SessionID.self) { group in
                for _ in 0..<3 { group.addTask { try await stack.sessions.create(SessionSpec()).id } }
                return try await group.reduce(into: [SessionID]()) { $0.append($1) }
            }
            #expect(ids.count == 3)
            for id in ids { #expect(try await stack.sessions.run(id, ["true"]).status.code == 0) }
        }
    }

    @Test func outputStreamsWhileTheCommandRuns() async throws {
        try await withTestStack("life-stream") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            // The command waits until the test has seen its first line: only live streaming lets it finish
            // with "second" (buffered output would end with "timeout" after 10 s). No wall-clock assertion.
            let handle = try await stack.sessions.exec(
                s.id,
                SessionCommand([
                    "/bin/sh", "-c",
                    "echo first; for i in $(seq 1 200); do [ -e /tmp/go ] && { echo second; exit 0; }; sleep 0.05; done; echo timeout",
                ]), by: .system)
            let go = "\(stack.dataDirectory)/sessions/\(s.id.rawValue)/rootfs/tmp/go"
            var lines: [String] = []
            for try await event in handle.events {
                guard case .stdout(let bytes) = event else { continue }
                let text = String(decoding: bytes, as: UTF8.self)
                lines += text.split(separator: "\n").map(String.init)
                if lines == ["first"] { FileManager.default.createFile(atPath: go, contents: nil) }
            }
            #expect(lines == ["first", "second"])
        }
    }

    @Test func aMissingCommandIsAClearErrorAndTheSessionKeepsWorking() async throws {
        try await withTestStack("life-missing") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            await #expect {
                _ = try await stack.sessions.run(s.id, ["definitely-not-a-command"])
            } throws: { error in
                let e = error as? PaddockError
                return e?.code == .notFound && e?.message.contains("definitely-not-a-command") == true
            }
            await #expect(throws: PaddockError.self) { _ = try await stack.sessions.run(s.id, ["ls"], cwd: "/nope") }
            #expect(try await stack.sessions.run(s.id, ["true"]).status.code == 0)
        }
    }

    @Test func filesPersistBetweenExecsAndRoundTripThroughTheFileAPI() async throws {
        try await withTestStack("life-files") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            _ = try await stack.sessions.sh(s.id, "mkdir -p /workspace/d && echo one > /workspace/d/a.txt")
            #expect(try await stack.sessions.sh(s.id, "cat /workspace/d/a.txt").stdout == "one\n")

            let files = SessionFiles(sessions: stack.sessions)
            let path = "d/b.bin"
            let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let stream = BackpressuredStream<[UInt8]> { sink in
                await sink.send(Array(payload[0..<100_000]))
                await sink.send(Array(payload[100_000...]))
            }
            let written = try await files.write(s.id, path: path, mode: 0o640, user: .user, data: stream, by: .system)
            #expect(written.path == "/workspace/d/b.bin")
            var back: [UInt8] = []
            for try await chunk in try await files.read(s.id, path: path, user: .user, by: .system).content {
                back += chunk
            }
            #expect(back == payload)
            let info = try await files.stat(s.id, path: path, user: .user, by: .system)
            #expect(info.size == 300_000 && info.mode & 0o777 == 0o640 && info.uid == 1000)
            let listing = try await files.list(s.id, path: "/workspace/d", depth: 1, user: .user, by: .system)
            #expect(listing.map(\.name) == ["a.txt", "b.bin"])
            #expect(try await stack.sessions.sh(s.id, "sha256sum < /workspace/d/b.bin | cut -c1-8").status.code == 0)
            await #expect(throws: PaddockError.self) {
                _ = try await files.stat(s.id, path: "/workspace/nope", user: .user, by: .system)
            }
        }
    }

    @Test func destroyLeavesNothingBehind() async throws {
        try await withTestStack("life-clean") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            _ = try await stack.sessions.sh(s.id, "sleep 100 & sleep 100 & echo started")
            let before = await stack.provider.leftovers(of: s.id)
            #expect(before.contains { $0.hasPrefix("mount") })
            #expect(before.contains { $0.hasPrefix("cgroup") })
            #expect(before.contains { $0.hasPrefix("process") })
            try await stack.sessions.destroy(s.id)
            #expect(await stack.provider.leftovers(of: s.id) == [])
            #expect(try await stack.sessions.get(s.id).state == .destroyed)
            // Destroy is idempotent.
            #expect(try await stack.sessions.destroy(s.id).state == .destroyed)
        }
    }

    @Test func aFailedStartLeavesNothingBehind() async throws {
        try await withTestStack("life-fail") { stack in
            // An unknown template is refused before anything is created.
            let unknown = await #expect(throws: PaddockError.self) {
                _ = try await stack.sessions.create(SessionSpec(template: "no-such-template"))
            }
            #expect(unknown?.code == .notFound)
            #expect(try await stack.sessions.list(includeEnded: true).isEmpty)
            // A start that fails in the provider (here: the template's layer vanished from disk) is recorded
            // as failed, and nothing of the sandbox is left.
            let built = try await stack.sessions.buildTemplate(
                TemplateSpec(name: "vanishing", install: ["touch /srv/x"]), progress: { _ in })
            try FileManager.default.removeItem(atPath: "\(stack.dataDirectory)/layers/\(built.template.layer ?? "")")
            await #expect(throws: PaddockError.self) {
                _ = try await stack.sessions.create(SessionSpec(template: "vanishing"))
            }
            #expect(await stack.provider.footprint().isEmpty)
            let failed = try await stack.sessions.list(includeEnded: true)
            #expect(failed.count == 1 && failed.first?.state == .failed)
        }
    }

    @Test func sessionsPastTheirTTLAreDestroyed() async throws {
        try await withTestStack("life-ttl") { stack in
            let s = try await stack.sessions.create(SessionSpec(ttlSeconds: 1))
            let keep = try await stack.sessions.create(SessionSpec(ttlSeconds: 3600))
            let reaper = Task { try await SessionReaper(sessions: stack.sessions, interval: .milliseconds(200)).run() }
            defer { reaper.cancel() }
            let deadline = ContinuousClock.now + .seconds(10)
            while try await stack.sessions.get(s.id).state != .destroyed, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await stack.sessions.get(s.id).state == .destroyed)
            #expect(try await stack.sessions.get(s.id).reason == "ttl expired")
            #expect(await stack.provider.leftovers(of: s.id) == [])
            #expect(try await stack.sessions.get(keep.id).state == .running)
        }
    }

    @Test func aRestartAdoptsLiveSandboxesAndCleansUpTheRest() async throws {
        let dir = TestHost.makeDataDirectory("life-restart")
        defer { TestHost.removeDataDirectory(dir) }
        let first = try await TestStack.make("life-restart", dataDirectory: dir)
        let survivor = try await first.sessions.create(SessionSpec())
        _ = try await first.sessions.sh(survivor.id, "echo kept > /workspace/state")
        let killed = try await first.sessions.create(SessionSpec())
        // An orphan: a sandbox the database never heard of (a crash between start and bookkeeping).
        let orphan = SessionID.random()
        try await first.provider.create(SandboxRequest(id: orphan, template: "host", limits: .default))
        // The "crash": a sandbox dies while the server is down.
        try await first.provider.destroy(killed.id)
        #expect(await first.provider.footprint().sessionDirectories == 2)

        // A new server process on the same data directory.
        let second = try await TestStack.make("life-restart", dataDirectory: dir)
        try await second.sessions.recover()
        #expect(try await second.sessions.get(survivor.id).state == .running)
        #expect(try await second.sessions.sh(survivor.id, "cat /workspace/state").stdout == "kept\n")
        let lost = try await second.sessions.get(killed.id)
        #expect(lost.state == .failed)
        #expect(lost.reason?.contains("lost") == true)
        #expect(await second.provider.leftovers(of: orphan) == [])
        // New sandboxes after recovery get distinct uid ranges from the adopted one.
        let fresh = try await second.sessions.create(SessionSpec())
        let uids = try await second.sessions.sh(fresh.id, "cat /proc/self/uid_map")
        let adoptedUIDs = try await second.sessions.sh(survivor.id, "cat /proc/self/uid_map")
        #expect(uids.stdout != adoptedUIDs.stdout)
        try await second.tearDown()
    }

    /// A sandbox whose runtime state was lost (wiped, or a crash between steps) still has processes running
    /// in its cgroup, which the runtime can no longer stop: a restart ends them itself and reports them.
    @Test func aRestartStopsASandboxWhoseRuntimeStateWasLost() async throws {
        let dir = TestHost.makeDataDirectory("life-lost-state")
        defer { TestHost.removeDataDirectory(dir) }
        let first = try await TestStack.make("life-lost-state", dataDirectory: dir)
        let s = try await first.sessions.create(SessionSpec())
        _ = try await first.sessions.sh(s.id, "sleep 1000 >/dev/null 2>&1 &")
        let initPID = try #require(await first.provider.initPID(s.id))
        try FileManager.default.removeItem(atPath: "\(dir)/runtime/\(s.id.rawValue)")
        #expect(await first.provider.initPID(s.id) == nil, "the runtime no longer knows the sandbox")
        #expect(kill(initPID, 0) == 0, "but its processes still run")

        let second = try await TestStack.make("life-lost-state", dataDirectory: dir)
        let report = await second.provider.recover(live: [s.id])
        #expect(report.lost == [s.id])
        #expect(await second.provider.leftovers(of: s.id) == [], "no process, mount or cgroup is left")
        // Dead: gone, or a zombie until whoever is its parent now collects it.
        let stat = try? String(contentsOfFile: "/proc/\(initPID)/stat", encoding: .utf8)
        let state = stat?.split(separator: ")").last?.split(separator: " ").first
        #expect(state == nil || state == "Z", "the sandbox's init is still running: \(stat ?? "")")
        try await second.tearDown()
    }
}

/// A sandbox that dies underneath its session is reported, not silently broken.
@Suite(.needsSandboxes, .serialized)
struct LostSandboxTests {
    @Test func aKilledSandboxMarksItsSessionFailedWithTheReason() async throws {
        try await withTestStack("lost") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            let pid = try #require(await stack.provider.initPID(s.id))
            kill(pid, SIGKILL)
            let deadline = ContinuousClock.now + .seconds(5)
            while await stack.provider.isAlive(s.id), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            await #expect(throws: PaddockError.self) { _ = try await stack.sessions.run(s.id, ["true"]) }
            let after = try await stack.sessions.get(s.id)
            #expect(after.state == .failed)
            #expect(after.reason?.contains("stopped on its own") == true)
            #expect(await stack.provider.leftovers(of: s.id) == [])
        }
    }
}
