import Foundation
import PaddockCore
import PaddockSandbox
import Synchronization

/// A new commit's layer made from the nearest layer of the same origin: a tree of hard links to that layer,
/// moved to the commit by git, so only the files the commits differ in are written and hashed.
///
/// Sharing inodes with a sealed layer is safe because nothing writes a layer's files in place: git replaces
/// every file it checks out (unlink, then create), writes the index and refs through a lock file and a rename,
/// and the few files it appends to (reflogs) are copied first.
extension RepositoryCache {
    /// The layer a new commit's layer is made from, and the paths the two commits differ in.
    struct Base: Sendable {
        var id: String
        var layer: Record.Layer
        var changed: [String]
    }

    /// How many of an origin's most recent layers are compared with a new commit to find the nearest.
    static let baseCandidates = 4

    /// Seals `commit`'s checkout as `layer` on `provider`: from the nearest layer of the origin that the provider
    /// holds (`held`) when there is one, else checked out whole. A layer that cannot be made from its nearest is
    /// checked out whole instead (logged), unless the disk is full. Returns the layer's own bytes.
    func seal(
        _ layer: String, _ repository: SessionRepository, commit: String, on provider: any SandboxProvider,
        held: Set<String>, _ record: Record
    ) async throws -> UInt64 {
        let mirror = mirror(of: repository.url)
        let branch = repository.branch
        let started = ContinuousClock.now
        if let base = await nearestLayer(to: commit, in: record, on: provider, held: held) {
            // Collection takes the origin's lock, which the caller holds; pinned all the same, as any layer read.
            starting.pin(base.id)
            defer { starting.unpin(base.id) }
            do {
                // Counted as the files it changed: the rest are its base's (a walk of the whole tree would cost
                // as much as the rest of the seal).
                let bytes = try await sealOnce(layer, from: base.id, on: provider) { workspace in
                    try await Self.move(workspace, from: base, to: commit, branch: branch, mirror: mirror)
                    return Self.bytes(of: base.changed, in: workspace)
                }
                logger.info(
                    "sealed a repository layer from the nearest one",
                    metadata: [
                        "layer.id": "\(layer)", "layer.base": "\(base.id)", "repository.commit": "\(commit)",
                        "files.changed": "\(base.changed.count)", "duration": "\(ContinuousClock.now - started)",
                    ])
                return bytes
            } catch let error as PaddockError where error.code == .resourceExhausted {
                throw error
            } catch {
                logger.warning(
                    "could not make a repository layer from the nearest one; checking the commit out whole",
                    metadata: ["layer.id": "\(layer)", "layer.base": "\(base.id)", "error": "\(error)"])
            }
        }
        let bytes = try await sealOnce(layer, from: nil, on: provider) { workspace in
            try await Self.fill(workspace, mirror: mirror, branch: branch, commit: commit)
            return Self.treeBytes(workspace, skipping: ".git/objects")
        }
        logger.info(
            "sealed a repository layer",
            metadata: [
                "layer.id": "\(layer)", "repository.commit": "\(commit)",
                "duration": "\(ContinuousClock.now - started)",
            ])
        return bytes
    }

    private func sealOnce(
        _ layer: String, from base: String?, on provider: any SandboxProvider,
        _ fill: @escaping @Sendable (String) async throws -> UInt64
    ) async throws -> UInt64 {
        let bytes = Mutex<UInt64>(0)
        try await provider.sealWorkspaceLayer(layer, from: base) { workspace in
            let filled = try await fill(workspace)
            bytes.withLock { $0 = filled }
        }
        return bytes.withLock { $0 }
    }

    /// Bytes of the regular files among `paths` under `root`.
    static func bytes(of paths: [String], in root: String) -> UInt64 {
        paths.reduce(0) { total, path in
            var st = stat()
            guard lstat("\(root)/\(path)", &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return total }
            return total + UInt64(st.st_size)
        }
    }

    /// Of the origin's most recent layers on `provider`, the one whose commit differs from `commit` in the fewest
    /// paths; nil when there is none (or the paths cannot be told apart: names that are not UTF-8).
    func nearestLayer(
        to commit: String, in record: Record, on provider: any SandboxProvider, held: Set<String>
    ) async -> Base? {
        let git = HostGit(mirror(of: record.url))
        let candidates = record.layers.filter { $0.value.provider == provider.name && held.contains($0.key) }
            .sorted { $0.value.createdAt > $1.value.createdAt }.prefix(Self.baseCandidates)
        var best: Base?
        for (id, layer) in candidates {
            let diff: HostGit.Output
            do {
                diff = try await git.run(
                    ["diff-tree", "-r", "-z", "--no-renames", "--name-only", layer.commit, commit], trust: .content)
            } catch {
                logger.warning("could not compare two commits", metadata: ["layer.id": "\(id)", "error": "\(error)"])
                continue
            }
            // A commit the mirror lost (a force-push and a prune) makes that layer no base.
            guard diff.succeeded else { continue }
            let changed = diff.stdout.split(separator: "\0").map(String.init)
            guard !changed.contains(where: { $0.contains("\u{FFFD}") }) else { continue }
            if best.map({ changed.count < $0.changed.count }) ?? true {
                best = Base(id: id, layer: layer, changed: changed)
            }
        }
        return best
    }

    /// Moves `workspace` — links to the base layer's checkout — to `commit`: git rewrites the changed files and
    /// the index it carries over, the changed files are given to the sandbox user and backdated like a fresh
    /// checkout's (so the first `git status` hashes nothing), and the mirror's new packs are linked in.
    static func move(_ workspace: String, from base: Base, to commit: String, branch: String, mirror: String)
        async throws
    {
        let dotGit = "\(workspace)/.git"
        let objects = "\(dotGit)/objects"
        // A fresh checkout's reflog has the one entry `update-ref` writes; git appends to it in place.
        try removeIfPresent("\(dotGit)/logs")
        try unshareFiles(under: dotGit, skipping: "objects")
        let alternates = "\(objects)/info/alternates"
        try removeIfPresent(alternates)
        try Data("\(mirror)/objects\n".utf8).write(to: URL(fileURLWithPath: alternates))

        let git = HostGit(workspace, safeDirectory: true)
        // The base's index says, through its fsmonitor extension, that every file is as the index records: true
        // of the links, so git is told nothing changed and keeps that — then states only the files it writes.
        // A base sealed before layers had the hook gets it whole (every file stated once).
        let inherited = FileManager.default.fileExists(atPath: "\(dotGit)/\(fsmonitorHookName)")
        let sealing = try writeSealingHook(dotGit)
        let quiet = ["-c", "core.fsmonitor=\(sealing)", "-c", "core.fsmonitorHookVersion=2"]
        // The base's untracked cache is the sandboxes' (/workspace); here git keeps it only as its own, and then
        // reads again just the directories the commits differ in.
        if inherited { try relocateUntrackedCache(workspace, to: try realPath(workspace)) }
        let moved = try await git.run(quiet + ["read-tree", "-m", "-u", base.layer.commit, commit], trust: .content)
        guard moved.succeeded else {
            if moved.problem.localizedCaseInsensitiveContains("No space left on device") {
                throw PaddockError(
                    .resourceExhausted,
                    "the server's disk is full while checking out \(commit.prefix(12)); free space on its data disk")
            }
            throw PaddockError.internal(
                "moving the checkout from \(base.layer.commit.prefix(12)) to \(commit.prefix(12)) failed: git says: "
                    + moved.problem)
        }
        try await git.check(["update-ref", "refs/heads/\(branch)", commit], trust: .content, "setting the branch")
        if base.layer.branch != branch {
            try await git.check(["symbolic-ref", "HEAD", "refs/heads/\(branch)"], trust: .content, "setting HEAD")
            try await git.check(
                ["update-ref", "-d", "refs/heads/\(base.layer.branch)"], trust: .content, "removing the base's branch")
        }

        let times = past(2)
        var owned: Set<Substring> = [""]
        for path in base.changed {
            let full = "\(workspace)/\(path)"
            var st = stat()
            // Gone: the commit deleted it.
            guard lstat(full, &st) == 0 else { continue }
            try own(full)
            guard utimensat(AT_FDCWD, full, times, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw PaddockError.internal("dating \(path) of the checkout failed (errno \(errno))")
            }
            // Directories git made for new files are the server's until given away.
            var parent = path[...]
            while let slash = parent.lastIndex(of: "/") {
                parent = parent[..<slash]
                guard owned.insert(parent).inserted else { break }
                try own("\(workspace)/\(parent)")
            }
        }
        if inherited {
            // The first refreshes the entries git wrote (their files were dated back since), the second marks them
            // valid for the hook; each writes the index, and a session's first `git status` then writes none.
            for _ in 0..<2 {
                try await git.check(
                    await sealingOptions(sealing) + ["status", "--porcelain"], trust: .content,
                    "refreshing the index of the new commit")
            }
            try FileManager.default.removeItem(atPath: sealing)
            try relocateUntrackedCache(workspace, to: SandboxLayout.workspace)
        } else {
            try FileManager.default.removeItem(atPath: sealing)
            try await git.check(["update-index", "-q", "--refresh"], trust: .content, "refreshing the index")
            try await installFSMonitor(workspace)
        }
        try ownEverything(under: dotGit, skipping: "objects")
        try removeIfPresent(alternates)
        try linkMissing(from: "\(mirror)/objects", into: objects)
        try ownDirectories(under: objects)
    }

    /// `path` with every symbolic link resolved, as git names its worktree.
    static func realPath(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else {
            throw PaddockError.internal("cannot resolve \(path) (errno \(errno))")
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func removeIfPresent(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        try FileManager.default.removeItem(atPath: path)
    }

    /// Replaces every regular file under `path` that has other names (a base layer's) by a copy of its own.
    private static func unshareFiles(under path: String, skipping: String) throws {
        for relative in try FileManager.default.subpathsOfDirectory(atPath: path)
        where relative != skipping && !relative.hasPrefix(skipping + "/") {
            let full = "\(path)/\(relative)"
            var st = stat()
            guard lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_nlink > 1 else { continue }
            let copy = full + ".paddock-copy"
            try FileManager.default.copyItem(atPath: full, toPath: copy)
            guard rename(copy, full) == 0 else {
                throw PaddockError.internal("replacing \(relative) of the checkout failed (errno \(errno))")
            }
        }
    }

    private static func ownEverything(under path: String, skipping: String) throws {
        try own(path)
        for relative in try FileManager.default.subpathsOfDirectory(atPath: path)
        where relative != skipping && !relative.hasPrefix(skipping + "/") {
            try own("\(path)/\(relative)")
        }
    }

    /// Links the files under `source` that `target` lacks (the mirror's packs fetched since the base layer was
    /// sealed); copies where a link cannot be made.
    private static func linkMissing(from source: String, into target: String) throws {
        let fm = FileManager.default
        for relative in try fm.subpathsOfDirectory(atPath: source).sorted() {
            let from = "\(source)/\(relative)"
            let to = "\(target)/\(relative)"
            var st = stat()
            var existing = stat()
            guard lstat(from, &st) == 0, lstat(to, &existing) != 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                try fm.createDirectory(atPath: to, withIntermediateDirectories: true)
            } else if link(from, to) != 0 {
                try fm.copyItem(atPath: from, toPath: to)
            }
        }
    }
}
