import Foundation
import PaddockCore
import PaddockTestSupport
import Synchronization
import Testing

/// What is built once and then reused by every sandbox is on disk before it is published, seen in a running
/// server's own system calls: a repository commit's layer is synced before it is renamed into place (a whole layer's
/// filesystem at once, a delta file by file), and the layers directory after, so a crash cannot leave a layer whose
/// files never reached the disk under its final name.
@Suite(.needsSandboxes, .serialized)
struct LayerDurabilityTests {
    typealias CLI = CLITests.CLI

    @Test(.enabled(if: SystemCallTrace.available, "strace is not installed (`make deps` installs it)"))
    func aCommitsLayerIsOnDiskBeforeItIsPublished() async throws {
        let fixture = try GitFixture.make("durable", files: RepositoryTests.files)
        defer { fixture.remove() }
        let scratch = TestHost.makeDataDirectory("durable-log")
        defer { TestHost.removeDataDirectory(scratch) }
        // Fetched for every session, so the second sees the commit pushed after the first.
        let server = try await CLITests.ServerProcess(
            extraArguments: ["--repo-refresh", "0s"], logFile: scratch + "/server.log")
        do {
            let trace = try await SystemCallTrace.attach(to: server.process.processIdentifier)
            let first = try await CLI.run(
                ["session", "create", "--repo", fixture.origin, "--branch", "main", "--json"], server: server)
            #expect(first.status == 0, "\(first.stderr)")
            // A new commit on the branch: the next session's layer is a delta over the first.
            try fixture.write(["NOTES.md": "a second commit\n"])
            try fixture.commit("second")
            try fixture.git(["push", "--quiet", "origin", "HEAD:refs/heads/main"])
            let second = try await CLI.run(
                ["session", "create", "--repo", fixture.origin, "--branch", "main", "--json"], server: server)
            #expect(second.status == 0, "\(second.stderr)")
            let calls = try await trace.stop()

            let log = try String(contentsOfFile: scratch + "/server.log", encoding: .utf8)
            #expect(log.contains("sealed a repository layer as a delta over the nearest one"), "the second is a delta")
            let published = calls.enumerated().compactMap { index, line in
                SystemCallTrace.layerRename(line).map { (index, $0.staging, $0.final) }
            }
            #expect(published.count == 2, "two layers published: \(published)")
            for (number, (renamed, staging, final)) in published.enumerated() {
                let before = calls[..<renamed]
                if number == 0 {
                    // The whole layer: its filesystem at once.
                    let synced = before.contains { $0.contains("syncfs(") && $0.contains("<\(staging)>") }
                    #expect(synced, "\(staging) was synced before it was renamed to \(final)")
                } else {
                    // The delta: the file the commit added, and the delta's own directory after its entries.
                    let file = before.contains {
                        $0.contains("fdatasync(") && $0.contains("<\(staging)/workspace/NOTES.md>")
                    }
                    #expect(file, "the changed file was synced before \(staging) was renamed to \(final)")
                    let directory = before.contains { $0.contains("fsync(") && $0.contains("<\(staging)>") }
                    #expect(directory, "\(staging) was synced before it was renamed to \(final)")
                }
                let parent = (final as NSString).deletingLastPathComponent
                let parentSynced = calls[renamed...].contains { $0.contains("fsync(") && $0.contains("<\(parent)>") }
                #expect(parentSynced, "\(parent) was synced after \(final) was published")
            }
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }
}

/// strace attached to a running process (all its threads and the children they start), recording some system
/// calls with the paths of their file descriptors (`-y`), until `stop` detaches it.
struct SystemCallTrace {
    let process: Process
    let output: String

    static let strace = "/usr/bin/strace"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: strace) }

    static func attach(to pid: Int32, calls: [String] = ["syncfs", "fsync", "fdatasync", "rename"]) async throws
        -> SystemCallTrace
    {
        let output = "/tmp/paddock-strace-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: strace)
        process.arguments = ["-f", "-y", "-e", "trace=" + calls.joined(separator: ","), "-o", output, "-p", "\(pid)"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let said = Mutex(Data())
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            said.withLock { $0 += data }
        }
        // With no signal blocked, so it detaches when it is told to end.
        try ChildProcess.spawn(process)
        let trace = SystemCallTrace(process: process, output: output)
        // strace says so once it holds every thread of the process.
        let deadline = ContinuousClock.now + .seconds(60)
        while !String(decoding: said.withLock { $0 }, as: UTF8.self).contains("attached") {
            guard process.isRunning, ContinuousClock.now < deadline else {
                _ = try? await trace.stop()
                throw PaddockError.unavailable(
                    "strace did not attach to \(pid): \(String(decoding: said.withLock { $0 }, as: UTF8.self))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return trace
    }

    /// Detaches (the process runs on) and returns the calls recorded, one per line.
    func stop() async throws -> [String] {
        await ChildProcess.end(process)
        defer { try? FileManager.default.removeItem(atPath: output) }
        return try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// A layer's staging directory renamed to its final name: `rename(".../layers/.staging-ID", ".../layers/ID")`.
    static func layerRename(_ line: String) -> (staging: String, final: String)? {
        // The call may be split by another thread's (`<unfinished ...>`): the two paths are all it needs.
        guard let open = line.range(of: "rename(\"") else { return nil }
        let paths = line[open.upperBound...].components(separatedBy: "\", \"")
        guard paths.count == 2, let close = paths[1].firstIndex(of: "\"") else { return nil }
        let staging = paths[0]
        let final = String(paths[1][..<close])
        let name = (staging as NSString).lastPathComponent
        guard name.hasPrefix(".staging-"), (final as NSString).lastPathComponent == String(name.dropFirst(9)),
            (final as NSString).deletingLastPathComponent.hasSuffix("/layers")
        else { return nil }
        return (staging, final)
    }
}
