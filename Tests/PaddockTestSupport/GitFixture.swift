import Foundation
import PaddockCore

/// A real git repository on disk for repository-session tests: a bare `origin.git` (the remote a session clones
/// and a submit pushes to) seeded from a scratch working copy, all under one temp directory.
public struct GitFixture: Sendable {
    public let directory: String
    public var origin: String { directory + "/origin.git" }
    public var work: String { directory + "/work" }

    /// A repository whose `main` and `feature` branches hold `files` (path → contents) in one commit.
    public static func make(_ label: String, files: [String: String]) throws -> GitFixture {
        let directory = "/tmp/paddock-git-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fixture = GitFixture(directory: directory)
        try fixture.git(["init", "--quiet", "--bare", "--initial-branch=main", fixture.origin], in: directory)
        try fixture.git(["clone", "--quiet", fixture.origin, fixture.work], in: directory)
        try fixture.write(files)
        try fixture.commit("initial")
        try fixture.git(["push", "--quiet", "origin", "HEAD:refs/heads/main", "HEAD:refs/heads/feature"])
        return fixture
    }

    public func write(_ files: [String: String]) throws {
        for (path, text) in files {
            let url = URL(fileURLWithPath: "\(work)/\(path)")
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
    }

    public func commit(_ message: String) throws {
        try git(["add", "--all"])
        try git(["-c", "user.name=Test", "-c", "user.email=test@localhost", "commit", "--quiet", "-m", message])
    }

    /// Runs git (no global configuration) and returns its stdout; throws with its stderr when it fails.
    @discardableResult
    public func git(_ arguments: [String], in cwd: String? = nil) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        p.arguments = arguments
        p.currentDirectoryURL = URL(fileURLWithPath: cwd ?? work)
        var env = ProcessInfo.processInfo.environment
        env["GIT_CONFIG_GLOBAL"] = "/dev/null"
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        p.environment = env
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw PaddockError.internal(
                "git \(arguments.joined(separator: " ")) failed: \(String(decoding: stderr, as: UTF8.self))")
        }
        return String(decoding: stdout, as: UTF8.self)
    }

    /// Runs git in the bare origin.
    @discardableResult
    public func originGit(_ arguments: [String]) throws -> String { try git(arguments, in: origin) }

    /// The commit a branch of the origin points at, or nil when it has no such branch.
    public func originBranch(_ name: String) -> String? {
        (try? originGit(["rev-parse", "--verify", "--quiet", "refs/heads/\(name)"]))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
