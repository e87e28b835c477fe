import Foundation
import PaddockConfig
import PaddockCore
import PaddockSandbox

/// What a session changed and how it leaves: the diff against its base with the policy's verdict, and the
/// submit that commits it, scans it for secrets, runs the policy's checks, pushes it from the host and opens
/// a review. Every step is authorized and recorded in the session's trail, naming the caller.
public struct ChangeService: Sendable {
    let sessions: SessionService

    public init(sessions: SessionService) { self.sessions = sessions }
}

extension ChangeService {
    /// Files bigger than this are listed but their lines are not counted.
    static let diffFileLimit: UInt64 = 8 << 20

    /// The session's change against its base and the policy's verdict on it (`changes.max_lines`,
    /// `protected_branches`).
    ///
    /// The base is the workspace the session started with — empty for the host template — so every file under
    /// /workspace is the session's change. Files are read through the sandbox's supervisor (no program runs in
    /// the sandbox, none on the host over sandbox content). `.git` itself is not counted; the branch checked out
    /// is read from `.git/HEAD`.
    public func diff(_ id: SessionID, by caller: Caller) async throws -> ChangeDiff {
        let (session, provider) = try await sessions.runningProvider(id, for: caller, needs: .read)
        if session.spec.repository != nil {
            let diff = try await repositoryDiff(session, provider)
            try await sessions.record(
                id, "repository.diff",
                ["files": .int(Int64(diff.files.count)), "lines": .int(Int64(diff.linesChanged))], by: caller)
            return diff
        }
        let workspace = SandboxLayout.workspace
        let entries = try await provider.initClient(id).listDirectory(path: workspace, depth: 64, user: .root)
        var files: [ChangeDiff.File] = []
        for entry in entries where entry.kind == .file || entry.kind == .symlink {
            let relative =
                entry.path.hasPrefix(workspace + "/") ? String(entry.path.dropFirst(workspace.count + 1)) : entry.path
            if relative == ".git" || relative.hasPrefix(".git/") { continue }
            var lines = 0
            var binary = false
            if entry.kind == .file && entry.size <= Self.diffFileLimit {
                var newlines = 0
                var last: UInt8?
                for try await chunk in try await provider.initClient(id).readFile(path: entry.path, user: .root) {
                    if chunk.contains(0) { binary = true }
                    newlines += chunk.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
                    if let end = chunk.last { last = end }
                }
                lines = binary ? 0 : newlines + (last != nil && last != 10 ? 1 : 0)
            } else if entry.kind == .file {
                binary = true
            } else {
                lines = 1  // a symlink is one line in git's diff
            }
            files.append(
                .init(
                    path: relative, status: "added", bytes: entry.size, linesAdded: lines, linesRemoved: 0,
                    binary: binary))
        }
        files.sort { $0.path < $1.path }
        var branch: String?
        if let head = try? await readSmallFile(provider, id, "\(workspace)/.git/HEAD") {
            let text = head.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.hasPrefix("ref: ") { branch = String(text.dropFirst("ref: ".count)) }
        }
        let changes = try session.effectivePolicy()?.changes ?? ChangePolicy()
        let total = files.reduce(0) { $0 + $1.linesAdded + $1.linesRemoved }
        let shortBranch = branch.map { $0.hasPrefix("refs/heads/") ? String($0.dropFirst("refs/heads/".count)) : $0 }
        return ChangeDiff(
            base: "the session's starting workspace (empty)", files: files, linesChanged: total, branch: shortBranch,
            maxLines: changes.maxLines?.value, protectedBranches: changes.protectedBranches.map(\.value),
            violations: changes.violations(linesChanged: total, branch: shortBranch))
    }

    private func readSmallFile(_ provider: any SandboxProvider, _ id: SessionID, _ path: String) async throws -> String
    {
        var bytes: [UInt8] = []
        for try await chunk in try await provider.initClient(id).readFile(path: path, user: .root) {
            bytes += chunk
            if bytes.count > 4096 { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
