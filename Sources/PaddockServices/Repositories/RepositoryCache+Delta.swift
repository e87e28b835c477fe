import Foundation
import Logging
import PaddockCore
import PaddockSandbox
import Synchronization

/// A new commit's layer made from the nearest layer of the same origin, so that only the files the commits differ in
/// are written and hashed.
///
/// Usually a delta (`SandboxProvider.sealWorkspaceDelta`): git moves a copy-on-write view of the nearest whole layer
/// to the commit, and the new layer keeps only what it wrote — the changed files, whiteouts for deletions, and its
/// own `.git` state (index, refs) — so a new commit costs its changes whatever the size of the repository. Deltas
/// are one level deep: the base is always a whole layer, and a delta that would hold more than a fraction of the
/// files is made whole instead, as a tree of hard links to the nearest layer moved by git.
///
/// Sharing inodes with a sealed layer (the links) is safe because nothing writes a layer's files in place: git
/// replaces every file it checks out (unlink, then create), writes the index and refs through a lock file and a
/// rename, and the few files it appends to (reflogs) are copied first.
extension RepositoryCache {
    /// The layer a new commit's layer is made from, and the paths the two commits differ in.
    struct Base: Sendable {
        var id: String
        var layer: Record.Layer
        var changes: [Change]
        var changed: [String] { changes.map(\.path) }
    }

    /// A path two commits differ in, as `git diff-tree --raw` names it: its mode and object in the newer commit
    /// (mode `000000` when that commit deleted it).
    struct Change: Sendable, Equatable {
        var path: String
        var mode: String
        var object: String
        var removed: Bool { mode == "000000" }

        /// The changes of `git diff-tree -r -z --raw` output; nil when it does not read as that.
        static func parse(raw output: String) -> [Change]? {
            // Each change is ":OLDMODE NEWMODE OLDOBJECT NEWOBJECT STATUS" NUL "PATH" NUL.
            let fields = output.split(separator: "\0", omittingEmptySubsequences: false)
            var changes: [Change] = []
            var at = 0
            while at + 1 < fields.count {
                let header = fields[at].split(separator: " ")
                guard header.count == 5, header[0].hasPrefix(":") else { return nil }
                changes.append(Change(path: String(fields[at + 1]), mode: String(header[1]), object: String(header[3])))
                at += 2
            }
            return changes
        }
    }

    /// A layer just sealed: its own bytes, the whole layer it is a delta over, and its files when it is whole.
    struct Sealed: Sendable {
        var bytes: UInt64
        var base: String?
        var files: Int?
    }

    /// How many of an origin's most recent layers are compared with a new commit to find the nearest.
    static let baseCandidates = 4
    /// A delta may always hold this many changed paths, and more up to `deltaFraction` of its base's files; past
    /// that a whole layer costs less to seal than the delta (a link is cheaper than a file written) and resets the
    /// growth of the deltas made after it.
    static let deltaFloor = 256
    static let deltaFraction = 8

    /// Seals `commit`'s checkout as `layer` on `provider`: from the nearest whole layer of the origin that the
    /// provider holds (`held`) when there is one — a delta over it, or else a tree of links to it — and checked
    /// out whole when there is none. A layer that cannot be made from its nearest is made whole instead (logged),
    /// unless the disk is full.
    func seal(
        _ layer: String, _ repository: SessionRepository, commit: String, on provider: any SandboxProvider,
        held: Set<String>, _ record: Record
    ) async throws -> Sealed {
        let mirror = mirror(of: repository.url)
        let branch = repository.branch
        let started = ContinuousClock.now
        if let base = await nearestLayer(to: commit, in: record, on: provider, held: held) {
            // Collection takes the origin's lock, which the caller holds; pinned all the same, as any layer read.
            starting.pin(base.id)
            defer { starting.unpin(base.id) }
            if base.changed.count <= max(Self.deltaFloor, (base.layer.files ?? 0) / Self.deltaFraction),
                let sealed = try await unlessItFails(
                    "could not make a repository layer as a delta over the nearest one; linking it whole", layer, base,
                    {
                        let bytes = try await sealDelta(layer, over: base, commit: commit, on: provider, repository)
                        logSealed(
                            "sealed a repository layer as a delta over the nearest one", layer, base, commit, started)
                        return Sealed(bytes: bytes, base: base.id, files: nil)
                    })
            {
                return sealed
            }
            if let sealed = try await unlessItFails(
                "could not make a repository layer from the nearest one; checking the commit out whole", layer, base,
                {
                    // Counted as the files it changed: the rest are its base's (a walk of the whole tree would cost
                    // as much as the rest of the seal).
                    let sealed = try await sealOnce(layer, from: base.id, on: provider) { workspace in
                        try await Self.move(
                            workspace, from: base, to: commit, branch: branch, mirror: mirror, view: false)
                        return Sealed(
                            bytes: Self.bytes(of: base.changed, in: workspace), files: Self.indexEntries(workspace))
                    }
                    logSealed("sealed a repository layer from the nearest one", layer, base, commit, started)
                    return sealed
                })
            {
                return sealed
            }
        }
        let sealed = try await sealOnce(layer, from: nil, on: provider) { workspace in
            try await Self.fill(workspace, mirror: mirror, branch: branch, commit: commit)
            return Sealed(
                bytes: Self.treeBytes(workspace, skipping: ".git/objects"), files: Self.indexEntries(workspace))
        }
        logger.info(
            "sealed a repository layer",
            metadata: [
                "layer.id": "\(layer)", "repository.commit": "\(commit)",
                "duration": "\(ContinuousClock.now - started)",
            ])
        return sealed
    }

    /// The layer `make` seals from `base`, or nil when it fails for any reason but a full disk (logged as `failure`),
    /// so that the caller makes it another way.
    private func unlessItFails(
        _ failure: Logger.Message, _ layer: String, _ base: Base, _ make: () async throws -> Sealed
    ) async throws -> Sealed? {
        do { return try await make() } catch let error as PaddockError where error.code == .resourceExhausted {
            throw error
        } catch {
            logger.warning(
                failure, metadata: ["layer.id": "\(layer)", "layer.base": "\(base.id)", "error": "\(error)"])
            return nil
        }
    }

    private func logSealed(
        _ message: Logger.Message, _ layer: String, _ base: Base, _ commit: String, _ started: ContinuousClock.Instant
    ) {
        logger.info(
            message,
            metadata: [
                "layer.id": "\(layer)", "layer.base": "\(base.id)", "repository.commit": "\(commit)",
                "files.changed": "\(base.changed.count)", "duration": "\(ContinuousClock.now - started)",
            ])
    }

    private func sealOnce(
        _ layer: String, from base: String?, on provider: any SandboxProvider,
        _ fill: @escaping @Sendable (String) async throws -> Sealed
    ) async throws -> Sealed {
        let sealed = Mutex<Sealed?>(nil)
        try await provider.sealWorkspaceLayer(layer, from: base) { workspace in
            let filled = try await fill(workspace)
            sealed.withLock { $0 = filled }
        }
        guard let made = sealed.withLock({ $0 }) else {
            throw PaddockError.internal("the provider sealed layer \(layer) without filling it")
        }
        return made
    }

    /// Seals `layer` as a delta over `base`: git moves a view of the base to the commit, then the mirror's packs
    /// the base lacks are linked into the delta and its `.git` is given to the sandbox user. Returns the bytes of
    /// the changed files.
    private func sealDelta(
        _ layer: String, over base: Base, commit: String, on provider: any SandboxProvider,
        _ repository: SessionRepository
    ) async throws -> UInt64 {
        let mirror = mirror(of: repository.url)
        let branch = repository.branch
        let packs = Mutex<[String]>([])
        let bytes = Mutex<UInt64>(0)
        try await provider.sealWorkspaceDelta(
            layer, over: base.id,
            fill: { view in
                try await Self.move(view, from: base, to: commit, branch: branch, mirror: mirror, view: true)
                let missing = try Self.missing(from: "\(mirror)/objects", in: "\(view)/.git/objects")
                packs.withLock { $0 = missing }
            },
            finish: { own in
                try Self.linkAll(packs.withLock { $0 }, from: "\(mirror)/objects", into: "\(own)/.git/objects")
                try Self.ownDelta(own)
                bytes.withLock { $0 = Self.bytes(of: base.changed, in: own) }
            })
        return bytes.withLock { $0 }
    }

    /// The number of entries of a checkout's index (its header's third word); nil when it cannot be read.
    static func indexEntries(_ workspace: String) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: "\(workspace)/.git/index") else { return nil }
        defer {
            do { try handle.close() } catch {
                // Read-only: nothing is lost when a close fails.
            }
        }
        let header: Data
        do { header = try handle.read(upToCount: 12) ?? Data() } catch { return nil }
        guard header.count == 12 else { return nil }
        return header.suffix(4).reduce(0) { $0 << 8 | Int($1) }
    }

    /// Bytes of the regular files among `paths` under `root`.
    static func bytes(of paths: [String], in root: String) -> UInt64 {
        paths.reduce(0) { total, path in
            var st = stat()
            guard lstat("\(root)/\(path)", &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return total }
            return total + UInt64(st.st_size)
        }
    }

    /// Of the origin's most recent whole layers on `provider`, the one whose commit differs from `commit` in the
    /// fewest paths; nil when there is none (or the paths cannot be told apart: names that are not UTF-8).
    func nearestLayer(
        to commit: String, in record: Record, on provider: any SandboxProvider, held: Set<String>
    ) async -> Base? {
        let git = HostGit(mirror(of: record.url))
        let candidates = record.layers.filter { id, layer in
            layer.provider == provider.name && layer.base == nil && held.contains(id)
        }.sorted { $0.value.createdAt > $1.value.createdAt }.prefix(Self.baseCandidates)
        var best: Base?
        for (id, layer) in candidates {
            let diff: HostGit.Output
            do {
                diff = try await git.run(
                    ["diff-tree", "-r", "-z", "--no-renames", "--raw", layer.commit, commit], trust: .content)
            } catch {
                logger.warning("could not compare two commits", metadata: ["layer.id": "\(id)", "error": "\(error)"])
                continue
            }
            // A commit the mirror lost (a force-push and a prune) makes that layer no base.
            guard diff.succeeded, let changes = Change.parse(raw: diff.stdout),
                !changes.contains(where: { $0.path.contains("\u{FFFD}") })
            else { continue }
            if best.map({ changes.count < $0.changes.count }) ?? true {
                best = Base(id: id, layer: layer, changes: changes)
            }
        }
        return best
    }

    /// Moves `workspace` — links to the base layer's checkout, or a copy-on-write `view` of it — to `commit`: git
    /// rewrites the changed files and the index it carries over, and the changed files are given to the sandbox
    /// user and backdated like a fresh checkout's (so the first `git status` hashes nothing). Links: the mirror's
    /// new packs are linked in and `.git` given to the sandbox user here; a view's caller does both in the layer.
    static func move(
        _ workspace: String, from base: Base, to commit: String, branch: String, mirror: String, view: Bool
    ) async throws {
        let dotGit = "\(workspace)/.git"
        let objects = "\(dotGit)/objects"
        // A fresh checkout's reflog has the one entry `update-ref` writes; git appends to it in place.
        try removeIfPresent("\(dotGit)/logs")
        // A view copies a file up before git changes it; links must be copied by hand.
        if !view { try unshareFiles(under: dotGit, skipping: "objects") }
        let alternates = "\(objects)/info/alternates"
        try removeIfPresent(alternates)
        try Data("\(mirror)/objects\n".utf8).write(to: URL(fileURLWithPath: alternates))

        let git = HostGit(workspace, safeDirectory: true)
        // The base's index says, through its fsmonitor extension, that every file is as the index records: true
        // of the links and of the view, so the server's git runs are told that nothing changed but the paths the
        // commits differ in, and keep that — they state only those. A base sealed before layers had the hook gets
        // it whole (every file stated once).
        let inherited = FileManager.default.fileExists(atPath: "\(dotGit)/\(fsmonitorHookName)")
        let sealing = try writeSealingHook(dotGit)
        // The base's untracked cache is the sandboxes' (/workspace); here git keeps it only as its own, and then
        // reads again just the directories the commits differ in. Not synced: git rewrites this index next, and the
        // one published is synced when its cache is moved back.
        if inherited { try relocateUntrackedCache(workspace, to: try realPath(workspace), durable: false) }
        try await checkOut(base.changes, in: workspace, git: git) { out in
            if out.problem.localizedCaseInsensitiveContains("No space left on device") {
                return PaddockError(
                    .resourceExhausted,
                    "the server's disk is full while checking out \(commit.prefix(12)); free space on its data disk")
            }
            return PaddockError.internal(
                "moving the checkout from \(base.layer.commit.prefix(12)) to \(commit.prefix(12)) failed: git says: "
                    + out.problem)
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
        try await record(base.changes, git: git, dotGit: dotGit)
        if inherited {
            // The index now holds the changed files as they are (given away and dated back), which leaves them to be
            // asked about again; `git status` then finds them as recorded and marks them valid for the hook, and
            // reads again the directories the commits differ in for the untracked cache. A session's first
            // `git status` then writes no index.
            try await git.check(
                await sealingOptions(sealing) + ["status", "--porcelain"], trust: .content,
                "recording the new commit's state for git's fsmonitor")
            try FileManager.default.removeItem(atPath: sealing)
            try relocateUntrackedCache(workspace, to: SandboxLayout.workspace)
        } else {
            try FileManager.default.removeItem(atPath: sealing)
            try await git.check(["update-index", "-q", "--refresh"], trust: .content, "refreshing the index")
            try await installFSMonitor(workspace)
        }
        try removeIfPresent(alternates)
        // In a view, a change of owner would copy every file of `.git` up into the layer.
        guard !view else { return }
        try ownEverything(under: dotGit, skipping: "objects")
        try linkAll(try missing(from: "\(mirror)/objects", in: objects), from: "\(mirror)/objects", into: objects)
        try ownDirectories(under: objects)
    }

    /// Brings the files of `workspace` to the newer side of `changes`, as `git read-tree -m -u` would, without
    /// walking the two commits' whole trees or writing the checkout's index (each pass over a 100,000-file index
    /// costs tens of milliseconds): deleted files go, and git checks out the rest from a scratch index holding only
    /// them, attributes and conversions applied as in any checkout. Git replaces a file it checks out (unlink, then
    /// create), so a linked base's files are never written through.
    static func checkOut(
        _ changes: [Change], in workspace: String, git: HostGit, failure: (HostGit.Output) -> PaddockError
    ) async throws {
        for change in changes where change.removed { try removeCheckedOut(change.path, in: workspace) }
        let entries = changes.filter { !$0.removed }.map { "\($0.mode) \($0.object)\t\($0.path)\0" }.joined()
        guard !entries.isEmpty else { return }
        let scratch = NSTemporaryDirectory() + "paddock-checkout-\(UUID().uuidString).index"
        defer { unlink(scratch) }
        for (arguments, input) in [
            (["update-index", "--add", "--replace", "-z", "--index-info"], entries),
            (["checkout-index", "--force", "--all"], ""),
        ] {
            let out = try await git.run(arguments, trust: .content, input: input, index: scratch)
            guard out.succeeded else { throw failure(out) }
        }
    }

    /// Records the changed paths in the checkout's index as they now are, in one pass: git hashes the files it
    /// checked out (a handful) and takes their stat data, drops the deleted ones, and marks the directories whose
    /// entries came or went for the untracked cache to read again, as read-tree does. A submodule's commit (an empty
    /// directory here) is given as such.
    static func record(_ changes: [Change], git: HostGit, dotGit: String) async throws {
        let submodules = changes.filter { $0.mode == "160000" }
        let paths = changes.filter { $0.mode != "160000" }.map { "\($0.path)\0" }.joined()
        // The hook names the changed paths: the index marks the base's entries valid for it, and git would take
        // the new files for the old ones without stating them.
        let hook = try writeSealingHook(dotGit, reporting: changes.map(\.path))
        defer {
            unlink(hook)
            unlink(hook + ".answer")
        }
        let reporting = ["-c", "core.fsmonitor=\(hook)", "-c", "core.fsmonitorHookVersion=2"]
        let submoduleEntries = submodules.flatMap { ["--cacheinfo", "160000,\($0.object),\($0.path)"] }
        let out = try await git.run(
            reporting + ["update-index", "--add", "--remove", "--replace"] + submoduleEntries + ["-z", "--stdin"],
            trust: .content, input: paths)
        guard out.succeeded else {
            throw PaddockError.internal(
                "recording the new commit's files in its index failed: git says: \(out.problem)")
        }
    }

    /// Removes a file the newer commit deleted, then the directories that left empty, as git does.
    private static func removeCheckedOut(_ path: String, in workspace: String) throws {
        let full = "\(workspace)/\(path)"
        var st = stat()
        if lstat(full, &st) == 0 {
            // A submodule's checkout is an empty directory here: the server never clones submodules.
            let gone = (st.st_mode & S_IFMT) == S_IFDIR ? rmdir(full) : unlink(full)
            guard gone == 0 || errno == ENOTEMPTY else {
                throw PaddockError.internal("removing \(path) from the checkout failed (errno \(errno))")
            }
        }
        var parent = path[...]
        while let slash = parent.lastIndex(of: "/") {
            parent = parent[..<slash]
            guard rmdir("\(workspace)/\(parent)") == 0 else { break }
        }
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

    /// The paths under `source` that `target` lacks (the mirror's packs fetched since the base layer was sealed),
    /// parents before their children.
    static func missing(from source: String, in target: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: source).sorted().filter { relative in
            var existing = stat()
            return lstat("\(target)/\(relative)", &existing) != 0
        }
    }

    /// Links `paths` of `source` into `target`, making the directories among them (and their parents); copies
    /// where a link cannot be made.
    static func linkAll(_ paths: [String], from source: String, into target: String) throws {
        let fm = FileManager.default
        for relative in paths {
            let from = "\(source)/\(relative)"
            let to = "\(target)/\(relative)"
            var st = stat()
            guard lstat(from, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                try fm.createDirectory(atPath: to, withIntermediateDirectories: true)
                continue
            }
            let parent = String(to[..<(to.lastIndex(of: "/") ?? to.endIndex)])
            try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
            if link(from, to) != 0 { try fm.copyItem(atPath: from, toPath: to) }
        }
    }

    /// Gives a delta layer's own files to the sandbox user, as a whole layer's are: everything but the object
    /// files (the mirror's, read-only, root's) and the whiteouts (deletions, whose owner means nothing).
    static func ownDelta(_ workspace: String) throws {
        try own(workspace)
        for relative in try FileManager.default.subpathsOfDirectory(atPath: workspace) {
            let full = "\(workspace)/\(relative)"
            var st = stat()
            guard lstat(full, &st) == 0 else { continue }
            let kind = st.st_mode & S_IFMT
            if kind == S_IFCHR || (kind != S_IFDIR && relative.hasPrefix(".git/objects/")) { continue }
            try own(full)
        }
    }
}
