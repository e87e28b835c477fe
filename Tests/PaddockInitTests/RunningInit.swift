import Foundation
import Glibc
import PaddockInitProtocol

/// A paddock-init started for one test: its own temp dir and socket, stopped (by pid) and cleaned up by
/// `stop()`.
final class RunningInit {
    let directory: String
    let socketPath: String
    let process: Process
    var pid: Int32 { process.processIdentifier }
    static let user = WireUser(uid: getuid(), gid: getgid())
    static let env = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C"]

    /// The built paddock-init: next to the test executable (SwiftPM builds it because the test target
    /// depends on it), or `PADDOCK_INIT` when set.
    static func binaryPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["PADDOCK_INIT"] { return path }
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // On Linux the runner is `<bin>/<Package>PackageTests.xctest`; elsewhere a bundle nests deeper.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("paddock-init").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw HarnessError("paddock-init not found next to \(testBinary.path): run `swift build` first")
    }

    init(extraArguments: [String] = []) throws {
        var template = Array("/tmp/paddock-init-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp failed") }
        directory = String(cString: made)
        socketPath = directory + "/init.sock"
        process = Process()
        process.executableURL = URL(fileURLWithPath: try RunningInit.binaryPath())
        // --ready-fd 1: init writes "ready\n" to its stdout and closes it once it is listening.
        process.arguments = ["--socket", socketPath, "--ready-fd", "1"] + extraArguments
        let ready = Pipe()
        process.standardOutput = ready
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        let line = try RunningInit.readLine(ready.fileHandleForReading.fileDescriptor, timeout: 10)
        guard line == "ready\n" else {
            stop()
            throw HarnessError("paddock-init did not report ready (got \(line.debugDescription))")
        }
    }

    private static func readLine(_ fd: Int32, timeout: Double) throws -> String {
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var slot = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&slot, 1, 100) > 0 else { continue }
            var byte: UInt8 = 0
            let n = read(fd, &byte, 1)
            if n <= 0 { break }
            bytes.append(byte)
            if byte == 0x0a { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func connect() throws -> InitClient { try InitClient(socketPath: socketPath) }

    /// SIGTERM, then SIGKILL if it has not exited within 5 s; removes the temp dir.
    func stop() {
        if process.isRunning {
            kill(pid, SIGTERM)
            if !waitForExit(timeout: 5) {
                kill(pid, SIGKILL)
                _ = waitForExit(timeout: 5)
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    func waitForExit(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return !process.isRunning
    }

    func spawnRequest(
        _ argv: [String], cwd: String = "/", tty: TerminalSize? = nil, stdin: Bool = false, detached: Bool = false,
        tag: String? = nil
    ) -> WireMessage {
        .spawn(
            SpawnRequest(
                argv: argv, env: RunningInit.env, cwd: cwd, user: RunningInit.user, tty: tty, stdin: stdin,
                detached: detached, tag: tag))
    }

    /// Runs a command to completion and returns everything its stream delivered.
    func run(_ argv: [String], cwd: String = "/", timeout: Double = 20) throws -> ProcessTranscript {
        let client = try connect()
        try client.send(spawnRequest(argv, cwd: cwd))
        return ProcessTranscript(try client.receiveAll(timeout: timeout))
    }

    /// The pids init currently supervises.
    func listProcesses() throws -> [WireProcessInfo] {
        guard case .processes(let list) = try connect().request(.listProcesses) else {
            throw HarnessError("listProcesses did not answer with processes")
        }
        return list
    }

    /// Resident memory of init, from /proc.
    func residentKilobytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") }
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func eventually(timeout: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if try condition() { return true }
        usleep(20_000)
    } while Date() < deadline
    return try condition()
}

/// Whether a pid is still alive. A zombie counts as gone: once init has exited, reaping its orphans is
/// up to whoever inherits them.
func processExists(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 || errno != ESRCH else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    return !stat[close...].hasPrefix(") Z")
}
