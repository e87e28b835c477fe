import Foundation
import PaddockAPI
import PaddockCore
import PaddockLinux
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// A restart always comes back: whatever the server finds on its data directory (a paused session, a data
/// directory in a private home), it listens, keeps the sessions and their files, and keeps them connected.
@Suite(.needsSandboxes, .serialized)
struct RestartTests {
    typealias CLI = CLITests.CLI

    static func createSession(_ server: CLITests.ServerProcess) async throws -> String {
        let created = try await CLI.run(["session", "create", "--ttl", "30m", "--json"], server: server)
        try #require(created.status == 0, "\(created.stderr)")
        return try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8)).id
    }

    static func state(_ id: String, _ server: CLITests.ServerProcess) async throws -> String {
        let got = try await CLI.run(["session", "get", id, "--json"], server: server)
        try #require(got.status == 0, "\(got.stderr)")
        return try APICoding.decoder().decode(SessionBody.self, from: Data(got.stdout.utf8)).state
    }

    /// The session CA the sandbox trusts (written by the server when it connects the session to its gateway).
    static func sandboxCA(_ id: String, _ server: CLITests.ServerProcess) async throws -> String {
        let r = try await CLI.run(["exec", id, "--", "cat", SessionNetwork.sessionCAPath], server: server)
        try #require(r.status == 0, "\(r.stderr)")
        return r.stdout
    }

    @Test(arguments: ["kill -9", "SIGTERM"])
    func aServerRestartedWithAPausedSessionListensAndResumesIt(_ how: String) async throws {
        try await CLITests.withServer { server in
            let id = try await Self.createSession(server)
            let wrote = try await CLI.run(
                ["exec", id, "--", "sh", "-c", "echo kept > note.txt; sleep 1000 >/dev/null 2>&1 &"], server: server)
            #expect(wrote.status == 0, "\(wrote.stderr)")
            let caBefore = try await Self.sandboxCA(id, server)
            let paused = try await CLI.run(["session", "stop", id], server: server)
            #expect(paused.status == 0, "\(paused.stderr)")

            if how == "kill -9" { await server.crash() } else { await server.terminate() }
            // `start` waits (generously) for the API to answer: before the fix it never did, because recovery
            // wrote the gateway's CA through the frozen sandbox's init and waited for ever.
            try await server.start()

            #expect(try await Self.state(id, server) == "paused")
            let read = try await CLI.run(["exec", id, "--", "cat", "note.txt"], server: server)
            #expect(read.status == 0 && read.stdout == "kept\n", "\(read.stderr)")
            #expect(try await Self.state(id, server) == "running", "the exec resumed the session")
            let sleepers = try await CLI.run(["exec", id, "--", "pgrep", "-c", "sleep"], server: server)
            #expect(sleepers.stdout == "1\n", "the frozen process lives on")
            // The new server's gateway has a new CA; resuming installed it, so HTTPS through the gateway is trusted.
            let caAfter = try await Self.sandboxCA(id, server)
            #expect(caAfter.hasPrefix("-----BEGIN CERTIFICATE-----"))
            #expect(caAfter != caBefore, "the CA of the restarted server's gateway was installed on resume")
        }
    }

    /// A graceful stop ends the server's work in one place (its service group): the warm pool's sandboxes are
    /// destroyed so none runs unowned while the server is down, and the server exits cleanly.
    @Test func aGracefulStopDrainsTheWarmPoolAndExitsCleanly() async throws {
        let server = try await CLITests.ServerProcess(extraArguments: ["--pool-size", "1"])
        defer { TestHost.removeDataDirectory(server.dataDirectory) }
        do {
            let deadline = ContinuousClock.now + .seconds(120)
            var ready = 0
            while ContinuousClock.now < deadline {
                let list = try await CLI.run(["pool", "list", "--json"], server: server)
                ready =
                    try APICoding.decoder().decode(PoolListBody.self, from: Data(list.stdout.utf8)).pools
                    .first { $0.template == "host" }?.ready ?? 0
                if ready == 1 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            try #require(ready == 1, "the warm pool filled")
            let sandboxes = try FileManager.default.contentsOfDirectory(atPath: server.dataDirectory + "/sessions")
            #expect(!sandboxes.isEmpty, "the warm sandbox has its directory")
        } catch {
            try? await server.stop()
            throw error
        }
        await server.terminate()
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0)
        let left = try FileManager.default.contentsOfDirectory(atPath: server.dataDirectory + "/sessions")
        #expect(left.isEmpty, "the warm sandboxes were destroyed on shutdown: \(left)")
    }

    @Test func aDataDirectoryOthersCannotTraverseGetsAStateDirectoryTheyCan() async throws {
        // Like a clone under /root (mode 700): the store may live there, sandboxes' files may not.
        let home = TestHost.makeDataDirectory("private")
        defer { TestHost.removeDataDirectory(home) }
        chmod(home, 0o700)
        let dataDirectory = home + "/data"
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let server = try await CLITests.ServerProcess(dataDirectory: dataDirectory)
        let recorded = try String(contentsOfFile: dataDirectory + "/state-dir", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(recorded.hasPrefix("/var/lib/paddock/"))
        do {
            let id = try await Self.createSession(server)
            let r = try await CLI.run(["exec", id, "--", "sh", "-c", "echo works"], server: server)
            #expect(r.status == 0 && r.stdout == "works\n", "\(r.stderr)")
            #expect(FileManager.default.fileExists(atPath: "\(recorded)/sessions/\(id)"))
            // Session environments and token hashes: readable by the server's user only.
            for file in ["paddock.sqlite", "admin.token"] {
                let mode = try FileManager.default.attributesOfItem(atPath: "\(dataDirectory)/\(file)")[
                    .posixPermissions]
                #expect(mode as? Int == 0o600, "\(file) has mode \(String(describing: mode))")
            }
            _ = try await CLI.run(["session", "destroy", id], server: server)
        }
        await server.terminate()
        // The footprint is counted where the sandboxes lived.
        let stack = try await TestStack.make("private-check", dataDirectory: recorded)
        let footprint = await stack.provider.footprint()
        if !footprint.isEmpty { _ = await stack.provider.recover(live: []) }
        stack.provider.removeCgroupParent()
        try? FileManager.default.removeItem(atPath: recorded)
        rmdir(StateDirectory.systemRoot)  // only when empty: another server's state may live there
        #expect(footprint.isEmpty, "leftovers: \(footprint)")
    }
}
