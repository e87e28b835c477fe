import Dispatch
import Foundation

/// Runs a configured `Process` to its end without holding a cooperative thread: the pool has two threads on a
/// 2-core host, and a test blocked in `readDataToEndOfFile` starves every other test of the run (the full suite
/// then timed out waits that pass alone). Both pipes are read at once, so a child filling its stderr pipe while
/// the test reads stdout cannot deadlock either.
public enum ChildProcess {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// `process` must have pipes as its standard output and error; `stdin`, when given, is written to a new pipe.
    public static func run(_ process: Process, stdin: Data? = nil) async throws -> Output {
        guard let out = process.standardOutput as? Pipe, let err = process.standardError as? Pipe else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "stdout and stderr must be pipes"])
        }
        let input = Pipe()
        if stdin != nil { process.standardInput = input }
        let box = UncheckedProcess(process)
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    try spawn(box.process)
                    if let stdin {
                        input.fileHandleForWriting.write(stdin)
                        try input.fileHandleForWriting.close()
                    }
                    let collected = CollectedData()
                    let group = DispatchGroup()
                    group.enter()
                    DispatchQueue.global().async {
                        collected.set(err.fileHandleForReading.readDataToEndOfFile())
                        group.leave()
                    }
                    let stdout = out.fileHandleForReading.readDataToEndOfFile()
                    group.wait()
                    let stderr = collected.get()
                    box.process.waitUntilExit()
                    continuation.resume(
                        returning: Output(
                            status: box.process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                            stderr: String(decoding: stderr, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Starts `process` with no signal blocked. Dispatch's threads block most signals, and a child started from
    /// one inherits that mask: it would then ignore the SIGTERM or SIGHUP a test (or tmux) sends it to end it.
    public static func spawn(_ process: Process) throws {
        var none = sigset_t()
        var saved = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        try process.run()
    }

    /// Runs `argv` (a path and its arguments) with /dev/null as its input and output, to its end; its exit status
    /// (128 + N for a signal). For programs that leave a daemon behind (`tmux new-session -d`): Foundation's
    /// `Process` learns a child ended from a descriptor the child inherits, which the daemon keeps open, so its
    /// `waitUntilExit` would never return. Spawned with no signal blocked and default dispositions.
    public static func status(_ argv: [String]) async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var attributes = posix_spawnattr_t()
                posix_spawnattr_init(&attributes)
                defer { posix_spawnattr_destroy(&attributes) }
                var none = sigset_t()
                var all = sigset_t()
                sigemptyset(&none)
                sigfillset(&all)
                posix_spawnattr_setsigmask(&attributes, &none)
                posix_spawnattr_setsigdefault(&attributes, &all)
                posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
                var actions = posix_spawn_file_actions_t()
                posix_spawn_file_actions_init(&actions)
                defer { posix_spawn_file_actions_destroy(&actions) }
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
                let arguments = argv.map { strdup($0) } + [nil]
                defer { arguments.forEach { free($0) } }
                var pid = pid_t()
                let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, arguments, environ)
                guard spawned == 0 else {
                    continuation.resume(throwing: POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL))
                    return
                }
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 {
                    guard errno == EINTR else {
                        continuation.resume(throwing: POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECHILD))
                        return
                    }
                }
                let signal = status & 0x7f
                continuation.resume(returning: signal == 0 ? (status >> 8) & 0xff : 128 + signal)
            }
        }
    }

    /// Ends a child the test started: `signal` (none when 0, for a child already told to end), then SIGKILL if it
    /// still runs after `grace`. The wait happens on a dispatch thread: a blocked cooperative thread would starve
    /// the server the child may be waiting on, and a child that ignores the signal must not hang the run.
    public static func end(_ process: Process, signal: Int32 = SIGTERM, grace: Duration = .seconds(60)) async {
        let box = UncheckedProcess(process)
        guard process.isRunning else { return await exited(box) }
        let pid = process.processIdentifier
        if signal != 0 { kill(pid, signal) }
        let backstop = Task {
            try await Task.sleep(for: grace)
            kill(pid, SIGKILL)
        }
        await exited(box)
        backstop.cancel()
    }

    private static func exited(_ box: UncheckedProcess) async {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                box.process.waitUntilExit()
                continuation.resume()
            }
        }
    }

    /// Stderr as read on its own thread (handed over through the dispatch group's wait).
    private final class CollectedData: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func set(_ value: Data) { lock.withLock { data = value } }
        func get() -> Data { lock.withLock { data } }
    }

    /// `Process` is not `Sendable`; it is handed to one dispatch thread, which alone touches it from then on.
    private final class UncheckedProcess: @unchecked Sendable {
        let process: Process
        init(_ process: Process) { self.process = process }
    }
}
