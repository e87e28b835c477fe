import Foundation
import Glibc
import PaddockInitProtocol
import Testing

@Suite("paddock-init processes")
struct ProcessTests {
    @Test func helloReportsVersionAndPid() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let reply = try initProcess.connect().request(.hello)
        #expect(reply == .helloReply(version: wireProtocolVersion, pid: initProcess.pid))
    }

    @Test func separatesStdoutAndStderrAndReportsTheExitCode() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let run = try initProcess.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(run.pid != nil)
        #expect(run.stdoutText == "out\n")
        #expect(run.stderrText == "err\n")
        #expect(run.exit?.code == 3)
        #expect(run.exit?.signal == 0)
        // started first, exited last and exactly once
        #expect(run.messages.first == .started(pid: run.pid ?? -1))
        #expect(run.messages.last == .exited(code: 3, signal: 0))
        #expect(run.messages.filter { if case .exited = $0 { true } else { false } }.count == 1)
    }

    @Test func unknownCommandIsNotFound() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let run = try initProcess.run(["paddock-no-such-command"])
        #expect(run.failure?.code == "not_found")
        #expect(run.failure?.message.contains("paddock-no-such-command") == true)
        #expect(run.pid == nil)
    }

    @Test func missingWorkingDirectoryIsNotFound() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let missing = initProcess.directory + "/missing"
        let run = try initProcess.run(["true"], cwd: missing)
        #expect(run.failure?.code == "not_found")
        #expect(run.failure?.message.contains(missing) == true)
    }

    @Test func emptyArgvIsInvalid() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let run = try initProcess.run([])
        #expect(run.failure?.code == "invalid_argument")
    }

    @Test func runsInTheRequestedDirectoryWithTheRequestedEnvironment() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let run = try initProcess.run(["sh", "-c", "pwd; echo $LANG"], cwd: initProcess.directory)
        #expect(run.stdoutText == "\(initProcess.directory)\nC\n")
    }

    @Test func forwardsStdinUntilClosed() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let client = try initProcess.connect()
        try client.send(initProcess.spawnRequest(["cat"], stdin: true))
        var run = ProcessTranscript([])
        run.add(try #require(try client.receive()))
        try client.send(.stdin(Array("hello\n".utf8)))
        while run.stdout.count < 6, let message = try client.receive() { run.add(message) }
        #expect(run.stdoutText == "hello\n")
        try client.send(.closeStdin)
        for message in try client.receiveAll() { run.add(message) }
        #expect(run.exit?.code == 0)
    }

    @Test func signalReachesTheProcess() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let client = try initProcess.connect()
        try client.send(initProcess.spawnRequest(["sleep", "100"]))
        guard case .started = try client.receive() else { Issue.record("no started"); return }
        try client.send(.signal(SIGTERM))
        let run = ProcessTranscript(try client.receiveAll())
        #expect(run.exit?.signal == SIGTERM)
        #expect(run.exit?.code == 128 + SIGTERM)
    }

    @Test func terminalReportsItsNameAndSize() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let client = try initProcess.connect()
        let script = "tty; stty size; read line; stty size"
        try client.send(
            initProcess.spawnRequest(["sh", "-c", script], tty: TerminalSize(rows: 30, cols: 100), stdin: true))
        var run = ProcessTranscript([])
        while !run.stdoutText.contains("30 100"), let message = try client.receive() { run.add(message) }
        #expect(run.stdoutText.hasPrefix("/dev/pts/"))
        #expect(run.stdoutText.contains("30 100"))
        try client.send(.resize(TerminalSize(rows: 50, cols: 120)))
        try client.send(.stdin(Array("\n".utf8)))
        for message in try client.receiveAll() { run.add(message) }
        #expect(run.stdoutText.contains("50 120"))
        #expect(run.exit?.code == 0)
        #expect(run.stderr.isEmpty)
    }

    @Test func closingTerminalInputSendsEndOfFile() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let client = try initProcess.connect()
        try client.send(initProcess.spawnRequest(["cat"], tty: TerminalSize(rows: 24, cols: 80), stdin: true))
        try client.send(.stdin(Array("partial".utf8)))
        try client.send(.closeStdin)
        let run = ProcessTranscript(try client.receiveAll())
        #expect(run.exit?.code == 0)
        #expect(run.stdoutText.contains("partial"))
    }

    @Test func largeOutputArrivesCompleteAndInOrder() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let size = 10 * 1024 * 1024
        let client = try initProcess.connect()
        try client.send(initProcess.spawnRequest(["sh", "-c", "seq 1 10000000 | head -c \(size)"]))
        // Let init hit its outgoing limit before reading anything: memory must stay bounded.
        usleep(500_000)
        let resident = initProcess.residentKilobytes()
        let run = ProcessTranscript(try client.receiveAll(timeout: 60))
        var expected: [UInt8] = []
        expected.reserveCapacity(size + 16)
        var n = 1
        while expected.count < size {
            expected += Array("\(n)\n".utf8)
            n += 1
        }
        expected.removeLast(expected.count - size)
        #expect(run.stdout.count == size)
        #expect(run.stdout == expected)
        #expect(run.exit?.code == 0)
        let chunks = run.messages.compactMap { if case .stdout(let b) = $0 { b.count } else { nil } }
        #expect(chunks.allSatisfy { $0 <= wireChunkSize })
        if let resident { #expect(resident < 24 * 1024, "init held \(resident) KiB while its client was not reading") }
    }

    @Test func backgroundGrandchildDoesNotKeepTheStreamOpen() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let started = Date()
        let run = try initProcess.run(["sh", "-c", "sleep 100 & echo hi"], timeout: 10)
        #expect(run.stdoutText == "hi\n")
        #expect(run.exit?.code == 0)
        #expect(Date().timeIntervalSince(started) < 5)
        if let pid = run.pid { kill(-pid, SIGKILL) }
    }

    @Test func closingTheConnectionKillsAProcessThatIsNotDetached() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let client = try initProcess.connect()
        try client.send(initProcess.spawnRequest(["sleep", "100"]))
        guard case .started(let pid) = try client.receive() else {
            Issue.record("no started")
            return
        }
        #expect(processExists(pid))
        client.close()
        #expect(eventually { !processExists(pid) })
        #expect(try initProcess.listProcesses().isEmpty)
    }

    @Test func detachedProcessSurvivesAndAttachReplaysItsOutput() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let gate = initProcess.directory + "/go"
        let script = "echo one; while [ ! -e \(gate) ]; do sleep 0.02; done; echo two >&2; exit 4"
        let first = try initProcess.connect()
        try first.send(initProcess.spawnRequest(["sh", "-c", script], detached: true, tag: "bg"))
        guard case .started(let pid) = try first.receive() else {
            Issue.record("no started")
            return
        }
        #expect(try first.receive() == .stdout(Array("one\n".utf8)))
        first.close()
        usleep(200_000)
        #expect(processExists(pid))
        let listed = try initProcess.listProcesses()
        #expect(listed.map(\.pid) == [pid])
        #expect(listed.first?.tag == "bg")
        #expect(listed.first?.argv == ["sh", "-c", script])

        let second = try initProcess.connect()
        try second.send(.attach(pid: pid))
        #expect(try second.receive() == .started(pid: pid))
        #expect(try second.receive() == .stdout(Array("one\n".utf8)))
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))
        let rest = ProcessTranscript(try second.receiveAll())
        #expect(rest.stderrText == "two\n")
        #expect(rest.exit?.code == 4)
    }

    @Test func exitOfAnUnattachedDetachedProcessIsKeptForAttach() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let client = try initProcess.connect()
        try client.send(initProcess.spawnRequest(["sh", "-c", "echo done; exit 5"], detached: true))
        guard case .started(let pid) = try client.receive() else {
            Issue.record("no started")
            return
        }
        client.close()
        #expect(try eventually { try initProcess.listProcesses().isEmpty })
        let attached = try initProcess.connect()
        try attached.send(.attach(pid: pid))
        let run = ProcessTranscript(try attached.receiveAll())
        #expect(run.pid == pid)
        #expect(run.stdoutText == "done\n")
        #expect(run.exit?.code == 5)
        // Delivered once: the entry is gone now.
        let again = try initProcess.connect()
        guard case .failure(let code, _, _) = try again.request(.attach(pid: pid)) else {
            Issue.record("second attach did not fail")
            return
        }
        #expect(code == "not_found")
    }

    @Test func attachToAnUnknownPidIsNotFound() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        guard case .failure(let code, _, _) = try initProcess.connect().request(.attach(pid: 999_999)) else {
            Issue.record("attach did not fail")
            return
        }
        #expect(code == "not_found")
    }

    @Test func signalProcessReachesADetachedProcess() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let client = try initProcess.connect()
        try client.send(initProcess.spawnRequest(["sleep", "100"], cwd: initProcess.directory, detached: true))
        guard case .started(let pid) = try client.receive() else {
            Issue.record("no started")
            return
        }
        let listed = try initProcess.listProcesses()
        #expect(
            listed == [
                WireProcessInfo(pid: pid, argv: ["sleep", "100"], cwd: initProcess.directory, tag: nil, tty: false)
            ])
        #expect(try initProcess.connect().request(.signalProcess(pid: pid, signal: SIGKILL)) == .ok)
        let run = ProcessTranscript(try client.receiveAll())
        #expect(run.exit?.signal == SIGKILL)
        guard case .failure(let code, _, _) = try initProcess.connect().request(.signalProcess(pid: pid, signal: 9))
        else {
            Issue.record("signal to an exited process did not fail")
            return
        }
        #expect(code == "not_found")
    }

    @Test(.enabled(if: getuid() == 0, "needs root to switch users"))
    func runsAsTheRequestedUserWithoutCapabilities() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let client = try initProcess.connect()
        let request = SpawnRequest(
            argv: ["sh", "-c", "id -u; id -g; id -G; grep -E '^Cap(Bnd|Eff)' /proc/self/status; echo e > /dev/stderr"],
            env: RunningInit.env, cwd: "/", user: WireUser(uid: 65534, gid: 65534))
        try client.send(.spawn(request))
        let run = ProcessTranscript(try client.receiveAll())
        let lines = run.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.count == 5)
        #expect(lines.prefix(3) == ["65534", "65534", "65534"])
        #expect(lines.dropFirst(3).allSatisfy { $0.hasSuffix("0000000000000000") })
        // Its pipes are its own: reopening them through /proc/self/fd works.
        #expect(run.stderrText == "e\n")
        #expect(run.exit?.code == 0)
    }
}
