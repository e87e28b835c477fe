import Foundation
import Glibc
import PaddockInitProtocol
import Testing

@Suite("paddock-init connections and lifecycle")
struct ConnectionTests {
    @Test(
        arguments: [
            [0, 0, 0, 2, 0xff, 0xff],  // unknown tag
            [0, 0, 0, 0],  // empty frame
            [0xff, 0, 0, 0, 1],  // longer than the frame limit
            [0, 0, 0, 3, 34, 0, 0],  // truncated field
        ] as [[UInt8]])
    func malformedFrameClosesOnlyThatConnection(_ frame: [UInt8]) throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let bad = try initProcess.connect()
        let idle = try initProcess.connect()
        try bad.sendRaw(frame)
        #expect(try bad.receiveAll(timeout: 5).isEmpty)
        #expect(try idle.request(.hello) == .helloReply(version: wireProtocolVersion, pid: initProcess.pid))
        #expect(try initProcess.connect().request(.hello) != nil)
    }

    @Test func aReplyInsteadOfARequestIsRejected() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        guard case .failure(let code, _, _) = try initProcess.connect().request(.ok) else {
            Issue.record("no failure")
            return
        }
        #expect(code == "invalid_argument")
    }

    @Test func socketIsPrivateToItsOwner() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        var info = stat()
        #expect(lstat(initProcess.socketPath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func sigtermStopsSupervisedProcessesAndExitsCleanly() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let client = try initProcess.connect()
        try client.send(initProcess.spawnRequest(["sleep", "100"], detached: true))
        guard case .started(let pid) = try client.receive() else {
            Issue.record("no started")
            return
        }
        kill(initProcess.pid, SIGTERM)
        let run = ProcessTranscript(try client.receiveAll(timeout: 10))
        #expect(run.exit?.signal == SIGTERM)
        #expect(initProcess.waitForExit(timeout: 5))
        #expect(initProcess.process.terminationStatus == 0)
        #expect(!processExists(pid))
    }

    @Test func processThatIgnoresSigtermIsKilledAfterTheGracePeriod() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let client = try initProcess.connect()
        try client.send(initProcess.spawnRequest(["sh", "-c", "trap '' TERM; echo armed; sleep 100"]))
        guard case .started(let pid) = try client.receive() else {
            Issue.record("no started")
            return
        }
        #expect(try client.receive() == .stdout(Array("armed\n".utf8)))
        let started = Date()
        kill(initProcess.pid, SIGTERM)
        #expect(initProcess.waitForExit(timeout: 10))
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 1.5 && elapsed < 6)
        #expect(initProcess.process.terminationStatus == 0)
        #expect(eventually { !processExists(pid) })
    }

    @Test func reapsOrphanedGrandchildren() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        // The grandchild outlives its parent and is reparented to init (the subreaper), which must reap
        // it rather than leave a zombie.
        let run = try initProcess.run(["sh", "-c", "sleep 0.2 & echo $!"])
        let grandchild = try #require(Int32(run.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(eventually { !processExists(grandchild) })
    }
}
