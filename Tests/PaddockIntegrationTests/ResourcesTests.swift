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

    /// `paddock top` in a real terminal (tmux), as a person runs it: the table appears, is redrawn in place with
    /// each reading (one table on the screen, its time moving on), and Ctrl-C ends it.
    @Test(.enabled(if: Terminal.available, "tmux is not installed (Debian's tmux; `make test` installs it)"))
    func topRedrawsInPlaceInATerminalAndCtrlCEndsIt() async throws {
        try await CLITests.withServer { server in
            let created = try await CLI.run(["session", "create", "--name", "watched", "--json"], server: server)
            try #require(created.status == 0, "\(created.stderr)")
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))
            let environment = CLI.environment(server)
            // The shell outlives the Ctrl-C that ends `top` (it traps SIGINT; `top` gets the default back) to
            // print how `top` ended.
            let command =
                "trap 'true' INT; env PADDOCK_URL=\(environment["PADDOCK_URL"] ?? "") PADDOCK_DATA_DIR=\(server.dataDirectory) "
                + "\(TestHost.paddockBinary) top --interval 500ms; echo \"top exited: $?\"; exec sleep 600"
            try await Terminal.with(command) { terminal in
                let first = try await terminal.screen { $0.contains(session.id) && $0.contains("CPU%") }
                #expect(first.contains("watched"))
                let stamp = Terminal.line(startingWith: "paddock top", in: first)
                let later = try await terminal.screen {
                    Terminal.line(startingWith: "paddock top", in: $0) != stamp && $0.contains(session.id)
                }
                #expect(
                    later.components(separatedBy: "paddock top —").count == 2,
                    "one table on the screen, redrawn where it was:\n\(later)")
                try await terminal.keys("C-c")
                let ended = try await terminal.screen { $0.contains("top exited:") }
                #expect(ended.contains("top exited: 130"), "Ctrl-C ends it:\n\(ended)")
            }
            #expect(try await CLI.run(["session", "destroy", session.id], server: server).status == 0)
        }
    }

    /// A server asked to stop (SIGTERM) stops though `paddock top` is watching it: open streams end on a
    /// graceful shutdown instead of holding it up for as long as a client keeps them open.
    @Test(.enabled(if: Terminal.available, "tmux is not installed (Debian's tmux; `make test` installs it)"))
    func theServerStopsWhileTopWatchesIt() async throws {
        try await CLITests.withServer { server in
            let command =
                "env PADDOCK_URL=http://127.0.0.1:\(server.port) PADDOCK_DATA_DIR=\(server.dataDirectory) "
                + "\(TestHost.paddockBinary) top --interval 1s; echo \"top exited: $?\"; exec sleep 600"
            try await Terminal.with(command) { terminal in
                _ = try await terminal.screen { $0.contains("(no running sessions)") }
                kill(server.process.processIdentifier, SIGTERM)
                let deadline = ContinuousClock.now + .seconds(120)
                while server.process.isRunning, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(!server.process.isRunning, "the server still runs 120 s after SIGTERM")
                if server.process.isRunning { kill(server.process.processIdentifier, SIGKILL) }
                let ended = try await terminal.screen { $0.contains("top exited:") }
                #expect(ended.contains("top exited:"))
            }
        }
    }
}

/// A tmux server of the test's own (its own socket), one window running `command`, read with capture-pane.
struct Terminal {
    let socket: String

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") }

    static func with(_ command: String, _ body: (Terminal) async throws -> Void) async throws {
        let terminal = Terminal(socket: "paddock-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let started = try await ChildProcess.status(
            [
                "/usr/bin/tmux", "-L", terminal.socket, "-f", "/dev/null", "new-session", "-d", "-x", "150", "-y", "30",
                command,
            ])
        guard started == 0 else { throw PaddockError.internal("tmux new-session exited with \(started)") }
        do { try await body(terminal) } catch {
            await terminal.end()
            throw error
        }
        await terminal.end()
    }

    @discardableResult
    func tmux(_ arguments: [String]) async throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/tmux")
        p.arguments = ["-L", socket, "-f", "/dev/null"] + arguments
        p.standardOutput = Pipe()
        p.standardError = Pipe()
        p.standardInput = FileHandle.nullDevice
        let result = try await ChildProcess.run(p)
        guard result.status == 0 else {
            throw PaddockError.internal("tmux \(arguments.first ?? "") failed: \(result.stderr)")
        }
        return result.stdout
    }

    func keys(_ keys: String...) async throws { try await tmux(["send-keys"] + keys) }

    /// The visible screen once `ready` holds for it (polled: a terminal says nothing when it changes).
    func screen(within patience: Duration = .seconds(60), _ ready: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + patience
        while true {
            let text = try await tmux(["capture-pane", "-p"])
            if ready(text) { return text }
            guard ContinuousClock.now < deadline else {
                throw PaddockError.internal("the terminal never showed what was awaited; it shows:\n\(text)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    static func line(startingWith prefix: String, in screen: String) -> String? {
        screen.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
    }

    /// Ends the tmux server of this socket (and what runs in it), and only it, and removes its socket file
    /// (tmux leaves it behind).
    func end() async {
        do { try await tmux(["kill-server"]) } catch {
            print("could not end the test's tmux server \(socket): \(error)")
        }
        let directory = (ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp") + "/tmux-\(getuid())"
        do { try FileManager.default.removeItem(atPath: directory + "/" + socket) } catch CocoaError.fileNoSuchFile {
        } catch {
            print("could not remove the test's tmux socket \(socket): \(error)")
        }
    }
}
