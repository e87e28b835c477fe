import Foundation
import PaddockConfig
import PaddockCore
import PaddockSandbox

extension ChangeService {
    /// The unified diff in a response is cut here; the file list and line counts are always complete.
    static let patchLimit = 2 << 20
    /// A workspace larger than this is not copied out for a diff.
    static let workspaceCopyLimit: UInt64 = 1 << 30

    /// The change of a repository session against its base commit.
    ///
    /// The sandbox's files are read through its supervisor into the server's own clone (the sandbox's `.git` is
    /// agent-controlled and never read), staged there, and compared with host git under `.content` trust: no
    /// hooks, no global or system configuration. The instructions Paddock wrote are not part of the change.
    func repositoryDiff(_ session: Session, _ provider: any SandboxProvider, submitBranch: String? = nil)
        async throws -> ChangeDiff
    {
        guard let repository = session.spec.repository, let clones = await sessions.repositories else {
            throw PaddockError.internal("repositoryDiff needs a repository session")
        }
        try clones.locks.take(session.id, busy: RepositoryClones.busy(session.id))
        defer { clones.locks.release(session.id) }
        return try await stagedDiff(session, provider, clones, repository, submitBranch: submitBranch)
    }

    /// `repositoryDiff` for a caller that holds the clone's lock.
    func stagedDiff(
        _ session: Session, _ provider: any SandboxProvider, _ clones: RepositoryClones,
        _ repository: SessionRepository,
        submitBranch: String?
    ) async throws -> ChangeDiff {
        try await clones.ensure(session.id, repository)
        let directory = clones.directory(of: session.id)
        let sizes = try await copyWorkspace(session, provider, into: directory)
        let git = HostGit(directory)
        try await git.check(["add", "--all", "--", "."], trust: .content, "staging the session's files")
        let common = ["diff", "--cached", "--no-renames", "--no-ext-diff", "--no-textconv", "--no-color"]
        // Generated and binary files `git add` took (no .gitignore covers them): left out when the policy says
        // so — the index goes back to the base for them — and otherwise kept with a warning.
        let review = Self.reviewConfig(session.policy)
        let rules = GeneratedFiles(excludeGenerated: review.excludeGenerated ?? false, patterns: review.exclude)
        var generated: [(path: String, reason: String)] = []
        var excluded: [String] = []
        for file in Self.numstatFiles(
            try await git.check(
                common + ["--numstat", "-z", "--diff-filter=AMT", repository.base], trust: .content, "diffing"))
        {
            if rules.excluded(path: file.path, binary: file.binary) != nil {
                excluded.append(file.path)
            } else if let reason = GeneratedFiles.reason(path: file.path, binary: file.binary) {
                generated.append((file.path, reason))
            }
        }
        for batch in stride(from: 0, to: excluded.count, by: 500) {
            let paths = excluded[batch..<min(batch + 500, excluded.count)].map { ":(literal)\($0)" }
            try await git.check(
                ["reset", "--quiet", repository.base, "--"] + paths, trust: .content, "leaving out excluded files")
        }
        let numstat = try await git.check(common + ["--numstat", "-z", repository.base], trust: .content, "diffing")
        let statuses = try await git.check(
            common + ["--name-status", "-z", repository.base], trust: .content, "diffing")
        // A vault value that reached a file is shown by name only, here and in every report built from this.
        let patch = SecretScanner.redact(
            try await git.check(common + [repository.base], trust: .content, "diffing"),
            values: try await reachableSecrets(session))

        var status: [String: String] = [:]
        let statusFields = statuses.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        var i = 0
        while i + 1 < statusFields.count {
            let code = statusFields[i].first
            status[statusFields[i + 1]] =
                code == "A" ? "added" : code == "D" ? "deleted" : code == "T" ? "type_changed" : "modified"
            i += 2
        }
        var files: [ChangeDiff.File] = []
        for file in Self.numstatFiles(numstat) {
            files.append(
                .init(
                    path: file.path, status: status[file.path] ?? "modified", bytes: sizes[file.path] ?? 0,
                    linesAdded: file.added, linesRemoved: file.removed, binary: file.binary))
        }
        files.sort { $0.path < $1.path }
        let changes = try session.effectivePolicy()?.changes ?? ChangePolicy()
        let total = files.reduce(0) { $0 + $1.linesAdded + $1.linesRemoved }
        let pushed = submitBranch ?? "\(clones.branchPrefix)\(session.id.rawValue)"
        let truncated = patch.utf8.count > Self.patchLimit
        var diff = ChangeDiff(
            base: "\(repository.url) \(repository.branch) at \(repository.base.prefix(12))", files: files,
            linesChanged: total, branch: repository.branch, maxLines: changes.maxLines?.value,
            protectedBranches: changes.protectedBranches.map(\.value),
            violations: changes.violations(linesChanged: total, branch: pushed), baseCommit: repository.base,
            submitBranch: pushed,
            patch: truncated ? String(decoding: Array(patch.utf8.prefix(Self.patchLimit)), as: UTF8.self) : patch,
            patchTruncated: truncated)
        diff.generated = generated.map(\.path)
        diff.excluded = excluded
        diff.warnings = GeneratedFiles.warning(generated).map { [$0] } ?? []
        return diff
    }

    /// `git diff --numstat -z` records: added and removed lines (`-` for both when binary) and the path.
    static func numstatFiles(_ output: String) -> [(path: String, added: Int, removed: Int, binary: Bool)] {
        output.split(separator: "\0").compactMap { record in
            let parts = record.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { return nil }
            return (String(parts[2]), Int(parts[0]) ?? 0, Int(parts[1]) ?? 0, parts[0] == "-")
        }
    }

    /// `review:` of the policy layers: the innermost layer that sets `exclude_generated` decides (a repository
    /// may keep its committed `dist/`), and every layer's `exclude` patterns add up.
    static func reviewConfig(_ policy: SessionPolicy?) -> ReviewConfig {
        var review = ReviewConfig()
        for source in policy?.sources ?? [] {
            guard let config = source.config(for: "review exclusions") else { continue }
            if let exclude = config.review.excludeGenerated { review.excludeGenerated = exclude }
            for pattern in config.review.exclude where !review.exclude.contains(pattern) {
                review.exclude.append(pattern)
            }
        }
        return review
    }

    /// Replaces the clone's working tree with the sandbox's /workspace (its `.git` excepted) and takes the
    /// instruction blocks out again; returns each file's size by relative path.
    private func copyWorkspace(_ session: Session, _ provider: any SandboxProvider, into directory: String)
        async throws -> [String: UInt64]
    {
        let fm = FileManager.default
        for item in try fm.contentsOfDirectory(atPath: directory) where item != ".git" {
            try fm.removeItem(atPath: "\(directory)/\(item)")
        }
        let workspace = SandboxLayout.workspace
        let entries = try await provider.initClient(session.id).listDirectory(path: workspace, depth: 64, user: .root)
        let total = entries.reduce(UInt64(0)) { $0 + ($1.kind == .file ? $1.size : 0) }
        guard total <= Self.workspaceCopyLimit else {
            throw PaddockError.invalidArgument(
                "/workspace holds \(total >> 20) MiB; remove build output (or add it to .gitignore and delete it) "
                    + "before diffing — at most \(Self.workspaceCopyLimit >> 20) MiB are compared")
        }
        let root = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        var sizes: [String: UInt64] = [:]
        for entry in entries.sorted(by: { $0.path < $1.path }) {
            guard entry.path.hasPrefix(workspace + "/") else { continue }
            let relative = String(entry.path.dropFirst(workspace.count + 1))
            let components = relative.split(separator: "/")
            // No `.git` at any depth: the sandbox's own is agent-controlled, and a nested one would make host git
            // read a repository (its config) the agent wrote.
            if components.contains(".git") || components.contains("..") || components.contains(".") { continue }
            let target = "\(directory)/\(relative)"
            // A link the sandbox made must not lead a later write out of the clone.
            let parent = URL(fileURLWithPath: target).deletingLastPathComponent().resolvingSymlinksInPath().path
            guard parent == root || parent.hasPrefix(root + "/") else { continue }
            switch entry.kind {
            case .directory:
                try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
            case .symlink:
                guard let link = entry.symlinkTarget else { continue }
                try fm.createSymbolicLink(atPath: target, withDestinationPath: link)
                sizes[relative] = entry.size
            case .file:
                guard fm.createFile(atPath: target, contents: nil), let handle = FileHandle(forWritingAtPath: target)
                else {
                    throw PaddockError.internal("cannot write \(relative) into the server's clone")
                }
                defer { try? handle.close() }
                for try await chunk in try await provider.initClient(session.id).readFile(path: entry.path, user: .root)
                {
                    try handle.write(contentsOf: chunk)
                }
                chmod(target, entry.mode & 0o100 != 0 ? 0o755 : 0o644)
                sizes[relative] = entry.size
            case .other:
                continue
            }
        }
        if let instructions = SessionService.instructions(session.policy), let base = session.spec.repository?.base {
            for name in SessionService.instructionFiles {
                let path = "\(directory)/\(name)"
                guard let data = fm.contents(atPath: path) else { continue }
                let shown = try await HostGit(directory).run(["cat-file", "-p", "\(base):\(name)"], trust: .content)
                let original = shown.succeeded ? shown.stdout : nil
                let text = String(decoding: data, as: UTF8.self)
                if let kept = SessionService.withoutInstructions(text, original: original, instructions) {
                    try Data(kept.utf8).write(to: URL(fileURLWithPath: path))
                    sizes[name] = UInt64(kept.utf8.count)
                } else {
                    try fm.removeItem(atPath: path)
                    sizes[name] = nil
                }
            }
        }
        return sizes
    }
}
