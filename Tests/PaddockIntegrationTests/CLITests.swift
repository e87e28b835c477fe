import Foundation
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// The real `paddock` binary against a real `paddock server` process: what a user types.
@Suite(.needsSandboxes, .serialized)
struct CLITests {
    /// A `paddock server` child process on a free loopback port with its own data directory.
    final class ServerProcess: @unchecked Sendable {
        let dataDirectory: String
        private(set) var port: Int
        private(set) var process: Process
        /// More `paddock server` flags (agents, budgets).
        let extraArguments: [String]
        /// Where the server's log goes at debug level, when a test reads it.
        let logFile: String?
        /// Where it goes otherwise: its warnings and errors, whose end a server that fails to come up is reported
        /// with. In the data directory, so it goes with it however a test ends.
        var logPath: String { logFile ?? dataDirectory + "/test-server.log" }

        init(dataDirectory: String? = nil, extraArguments: [String] = [], logFile: String? = nil) async throws {
            self.dataDirectory = dataDirectory ?? TestHost.makeDataDirectory("cli")
            self.extraArguments = extraArguments
            self.logFile = logFile
            port = Self.unusedPort()
            process = Process()
            try await start()
        }

        /// A port to listen on below the kernel's ephemeral range (`ip_local_port_range`), so no outgoing connection
        /// of the tests running beside it holds it by chance.
        static func unusedPort() -> Int {
            let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
            let low = range.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32768
            return Int.random(in: 20000...max(21000, low - 1))
        }

        func start() async throws {
            // A server that exits at once could not listen (the port was taken after all): it gets another port.
            for _ in 0..<3 {
                if try await startOnce() { return }
                port = Self.unusedPort()
            }
            throw PaddockError.unavailable(
                "paddock server exited before it came up, on three ports (status \(process.terminationStatus)); "
                    + "its log ends: \(logTail())")
        }

        /// The last lines of the server's log, for a failure's message.
        func logTail() -> String {
            guard let log = FileManager.default.contents(atPath: logPath) else { return "(no log at \(logPath))" }
            return String(decoding: log, as: UTF8.self).split(separator: "\n").suffix(10).joined(separator: "\n")
        }

        /// Whether the server came up; false when it exited first. Throws when it neither came up nor exited.
        private func startOnce() async throws -> Bool {
            process = Process()
            process.executableURL = URL(fileURLWithPath: TestHost.paddockBinary)
            process.arguments = [
                "server", "--data-dir", dataDirectory, "--listen", "127.0.0.1:\(port)", "--log-level",
                logFile == nil ? "warning" : "debug",
                "--e2b-listen", "127.0.0.1:0", "--preview-listen", "127.0.0.1:0",
            ]
            process.arguments?.append(contentsOf: extraArguments)
            process.standardOutput = FileHandle.nullDevice
            guard FileManager.default.createFile(atPath: logPath, contents: nil),
                let log = FileHandle(forWritingAtPath: logPath)
            else { throw PaddockError.internal("cannot write the test server's log at \(logPath)") }
            process.standardError = log
            try process.run()
            // Generous: a loaded machine (CI, parallel builds) can take a while to start a debug server.
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline, process.isRunning {
                if (try? await CLI.run(["session", "list"], server: self))?.status == 0 { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            if !process.isRunning { return false }
            // Never leave a half-started server behind (it would outlive the test run).
            await ChildProcess.end(process)
            throw PaddockError.unavailable("paddock server did not come up on port \(port); its log ends: \(logTail())")
        }

        /// SIGKILL: a crash, not a shutdown.
        func crash() async {
            await ChildProcess.end(process, signal: SIGKILL)
        }

        /// SIGTERM: a graceful shutdown, as a service manager does it.
        func terminate() async {
            await ChildProcess.end(process)
        }

        func stop() async throws {
            // Destroy what is left through the API, then stop the server gracefully.
            if let list = try? await CLI.run(["session", "list", "--json"], server: self),
                let body = try? APICoding.decoder().decode(SessionListBody.self, from: Data(list.stdout.utf8))
            {
                for s in body.sessions { _ = try? await CLI.run(["session", "destroy", s.id], server: self) }
            }
            await ChildProcess.end(process)
            let stack = try await TestStack.make("cli-check", dataDirectory: dataDirectory)
            let footprint = await stack.provider.footprint()
            // Clean up through the recovery path even when something leaked, so a failure leaves nothing running.
            if !footprint.isEmpty { _ = await stack.provider.recover(live: []) }
            stack.provider.removeCgroupParent()
            TestHost.removeDataDirectory(dataDirectory)
            #expect(footprint.isEmpty, "leftovers after the CLI tests: \(footprint)")
        }
    }

    struct CLIResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    enum CLI {
        static func environment(_ server: ServerProcess) -> [String: String] {
            var env = ProcessInfo.processInfo.environment
            env["PADDOCK_URL"] = "http://127.0.0.1:\(server.port)"
            env["PADDOCK_DATA_DIR"] = server.dataDirectory
            env.removeValue(forKey: "PADDOCK_TOKEN")
            return env
        }

        static func process(_ args: [String], server: ServerProcess) -> (Process, Pipe, Pipe) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TestHost.paddockBinary)
            p.arguments = args
            p.environment = environment(server)
            let out = Pipe()
            let err = Pipe()
            p.standardOutput = out
            p.standardError = err
            return (p, out, err)
        }

        static func run(_ args: [String], server: ServerProcess, stdin: String? = nil) async throws -> CLIResult {
            let (p, _, _) = process(args, server: server)
            p.standardInput = FileHandle.nullDevice
            let r = try await ChildProcess.run(p, stdin: stdin.map { Data($0.utf8) })
            return CLIResult(status: r.status, stdout: r.stdout, stderr: r.stderr)
        }
    }

    static func sha256(file: String) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [file]
        let out = Pipe()
        p.standardOutput = out
        try? p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return String(text.prefix(64))
    }

    static func withServer(_ body: (ServerProcess) async throws -> Void) async throws {
        let server = try await ServerProcess()
        do { try await body(server) } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test func runPrintsOutputAndPassesTheExitCodeThrough() async throws {
        try await Self.withServer { server in
            let r = try await CLI.run(["run", "--", "sh", "-c", "echo hello; echo warn >&2; exit 3"], server: server)
            #expect(r.stdout == "hello\n")
            #expect(r.stderr == "warn\n")
            #expect(r.status == 3)
            let missing = try await CLI.run(["run", "--", "no-such-tool"], server: server)
            #expect(missing.status == 127)
            #expect(missing.stderr.contains("no-such-tool"))
            let piped = try await CLI.run(
                ["run", "--", "tr", "a-z", "A-Z"], server: server, stdin: "forwarded stdin\n")
            #expect(piped.stdout == "FORWARDED STDIN\n" && piped.status == 0)
            let timedOut = try await CLI.run(["run", "--timeout", "1s", "--", "sleep", "30"], server: server)
            #expect(timedOut.status == 124 && timedOut.stderr.contains("timeout"))
            let oom = try await CLI.run(
                ["run", "--memory", "48MiB", "--", "python3", "-c", "b = bytearray(400 << 20)"], server: server)
            #expect(oom.status == 137 && oom.stderr.contains("out of memory"))
            // Every `run` destroyed its sandbox.
            let list = try await CLI.run(["session", "list", "--json"], server: server)
            #expect(try APICoding.decoder().decode(SessionListBody.self, from: Data(list.stdout.utf8)).sessions.isEmpty)
        }
    }

    @Test func outputStreamsLiveAndCtrlCStopsTheCommand() async throws {
        try await Self.withServer { server in
            let (p, out, _) = CLI.process(["run", "--", "sh", "-c", "echo one; sleep 60; echo never"], server: server)
            p.standardInput = FileHandle.nullDevice
            let start = ContinuousClock.now
            try p.run()
            let first = out.fileHandleForReading.availableData
            #expect(String(decoding: first, as: UTF8.self) == "one\n")
            #expect(ContinuousClock.now - start < .seconds(20))
            kill(p.processIdentifier, SIGINT)
            let deadline = ContinuousClock.now + .seconds(15)
            while p.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!p.isRunning, "Ctrl-C must stop the sandboxed command")
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
            #expect(p.terminationStatus == 130)
            #expect(!String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("never"))
        }
    }

    @Test func sessionsExecFilesAndCopy() async throws {
        try await Self.withServer { server in
            let created = try await CLI.run(
                [
                    "session", "create", "--name", "demo", "--ttl", "30m", "--env", "GREETING=hi", "--memory", "256MiB",
                    "--json",
                ],
                server: server)
            #expect(created.status == 0, "\(created.stderr)")
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))
            #expect(session.state == "running" && session.limits.memory == "256MiB" && session.name == "demo")

            let greet = try await CLI.run(
                ["exec", session.id, "--", "sh", "-c", "echo $GREETING > greeting.txt"], server: server)
            #expect(greet.status == 0, "\(greet.stderr)")
            let cat = try await CLI.run(["exec", session.id, "--", "cat", "/workspace/greeting.txt"], server: server)
            #expect(cat.stdout == "hi\n")
            let tty = try await CLI.run(
                ["exec", "--tty", session.id, "--", "sh", "-c", "tty; stty size"], server: server)
            #expect(tty.stdout.contains("/dev/pts/"), "\(tty.stdout)")

            let local = server.dataDirectory + "/local"
            try FileManager.default.createDirectory(atPath: local + "/tree/sub", withIntermediateDirectories: true)
            try Data("alpha\n".utf8).write(to: URL(fileURLWithPath: local + "/tree/a.txt"))
            try Data("beta\n".utf8).write(to: URL(fileURLWithPath: local + "/tree/sub/b.txt"))
            #expect(
                try await CLI.run(["cp", "-r", local + "/tree", "\(session.id):/workspace/tree"], server: server).status
                    == 0)
            let listing = try await CLI.run(
                ["exec", session.id, "--", "sh", "-c", "cat tree/a.txt tree/sub/b.txt"], server: server)
            #expect(listing.stdout == "alpha\nbeta\n")
            #expect(
                try await CLI.run(["cp", "\(session.id):/workspace/greeting.txt", local + "/back.txt"], server: server)
                    .status == 0)
            #expect(try String(contentsOfFile: local + "/back.txt", encoding: .utf8) == "hi\n")
            #expect(
                try await CLI.run(["cp", "-r", "\(session.id):/workspace/tree", local + "/tree-back"], server: server)
                    .status == 0)
            #expect(try String(contentsOfFile: local + "/tree-back/sub/b.txt", encoding: .utf8) == "beta\n")
            let missing = try await CLI.run(["cp", "\(session.id):/workspace/nope", local + "/x"], server: server)
            #expect(missing.status == 1 && missing.stderr.contains("nope"))
            #expect(!FileManager.default.fileExists(atPath: local + "/x"))

            // Large transfers arrive whole, in both directions and through exec output (backpressure, no drops).
            let make = Process()
            make.executableURL = URL(fileURLWithPath: "/bin/sh")
            make.arguments = ["-c", "head -c 50331648 /dev/urandom > '\(local)/big.bin'"]
            try make.run()
            make.waitUntilExit()
            let original = try Data(contentsOf: URL(fileURLWithPath: local + "/big.bin"))
            #expect(original.count == 48 << 20)
            #expect(
                try await CLI.run(["cp", local + "/big.bin", "\(session.id):/workspace/big.bin"], server: server).status
                    == 0)
            #expect(
                try await CLI.run(["cp", "\(session.id):/workspace/big.bin", local + "/big-back.bin"], server: server)
                    .status == 0)
            #expect(try Data(contentsOf: URL(fileURLWithPath: local + "/big-back.bin")) == original)
            let sums = try await CLI.run(
                ["exec", session.id, "--", "sh", "-c", "cat big.bin | sha256sum"], server: server)
            #expect(sums.stdout.hasPrefix(Self.sha256(file: local + "/big.bin")))

            let get = try await CLI.run(["session", "get", session.id], server: server)
            #expect(get.stdout.contains("GREETING") && !get.stdout.contains("hi\n"))
            #expect(try await CLI.run(["session", "destroy", session.id], server: server).status == 0)
            let gone = try await CLI.run(["exec", session.id, "--", "true"], server: server)
            #expect(gone.status == 1 && gone.stderr.contains("destroyed"))
        }
    }

    @Test func errorsAreClearAndTheTokenFileIsPrivate() async throws {
        try await Self.withServer { server in
            var st = stat()
            #expect(stat(server.dataDirectory + "/admin.token", &st) == 0 && st.st_mode & 0o777 == 0o600)
            let unknown = try await CLI.run(["exec", "zzzzzz", "--", "true"], server: server)
            #expect(unknown.status == 1 && unknown.stderr.contains("does not exist"))
            let badMemory = try await CLI.run(["session", "create", "--memory", "lots"], server: server)
            #expect(badMemory.status != 0 && badMemory.stderr.contains("memory"))
            let noCommand = try await CLI.run(["run"], server: server)
            #expect(noCommand.status != 0 && noCommand.stderr.contains("--"))
            var env = CLI.environment(server)
            env["PADDOCK_URL"] = "http://127.0.0.1:1"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TestHost.paddockBinary)
            p.arguments = ["session", "list"]
            p.environment = env
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 1 && text.contains("cannot reach"))
        }
    }

    @Test func aCrashedServerRestartsOntoItsSessions() async throws {
        try await Self.withServer { server in
            let created = try await CLI.run(["session", "create", "--json"], server: server)
            let id = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8)).id
            #expect(
                try await CLI.run(["exec", id, "--", "sh", "-c", "echo survived > state"], server: server).status == 0)
            await server.crash()
            try await server.start()
            let after = try await CLI.run(["exec", id, "--", "cat", "state"], server: server)
            #expect(after.stdout == "survived\n")
        }
    }

    @Test func warmPoolsStopResumeAndIdleFromTheCLI() async throws {
        try await Self.withServer { server in
            let set = try await CLI.run(["pool", "set", "host", "--size", "1"], server: server)
            #expect(set.status == 0 && set.stdout.contains("size 1"), "\(set.stderr)")
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if try await CLI.run(["pool", "list"], server: server).stdout.contains("1     1") { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let created = try await CLI.run(["session", "create", "--idle", "30m", "--json"], server: server)
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))
            #expect(session.start == "warm")
            #expect(
                try await CLI.run(["session", "stop", session.id], server: server).stdout == "paused \(session.id)\n")
            #expect(
                try await CLI.run(["session", "get", session.id], server: server).stdout.contains("state:     paused"))
            #expect(try await CLI.run(["exec", session.id, "--", "echo", "awake"], server: server).stdout == "awake\n")
            let again = try await CLI.run(["session", "resume", session.id], server: server)
            #expect(again.status == 1 && again.stderr.contains("already running"))
            #expect(try await CLI.run(["pool", "set", "host", "--size", "0"], server: server).status == 0)
        }
    }

    @Test func doctorDescribesTheHost() async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestHost.paddockBinary)
        p.arguments = ["doctor", "--json"]
        p.standardOutput = Pipe()
        p.standardError = Pipe()
        // Off the cooperative pool: doctor checkpoints a gVisor sandbox, which takes seconds on a loaded host.
        let r = try await ChildProcess.run(p)
        let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(report?["can_run_sandboxes"] as? Bool == true)
        #expect(report?["cgroup_mode"] as? String != nil)
        #expect((report?["runtimes"] as? [[String: Any]])?.contains { $0["name"] as? String == "runc" } == true)
    }
}
