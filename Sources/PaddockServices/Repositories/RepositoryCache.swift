import Crypto
import Foundation
import Logging
import PaddockCore
import PaddockSandbox
import Subprocess
import Synchronization
import SystemPackage

/// The server's cache of repositories: one bare mirror per origin URL, fetched with the host's credentials and
/// never shown to a sandbox, and the commit layers sealed from it, which sessions share copy-on-write.
///
/// Under `root`, one directory per origin (named by a hash of its URL): `mirror.git` and `cache.json` (the URL,
/// when it was last fetched, the layers made from it). Both survive a restart. Everything for one origin —
/// fetching, resolving a branch, sealing a layer — happens under that origin's lock, so two sessions starting on
/// the same repository at once fetch it once and seal a commit once.
public final class RepositoryCache: Sendable {
    /// Where mirrors live (`<data-dir>/repos/repo-cache`).
    public let root: String
    /// A mirror fetched less than this long ago is used as it is; older, it is fetched first.
    public let refreshWindow: Duration
    let locks = KeyedLock<String>()
    let clock: @Sendable () -> Date
    /// Layers handed to a session that is still starting: never collected until the sandbox holds them.
    let starting = LayerPins()
    let logger: Logger
    /// What the cache learnt without writing it down: per immutable commit, and per branch between two fetches.
    let memo = Mutex(Memo())
    /// A layer's (and an origin's) last use is written again only when it is older than this: it orders the
    /// collection, which needs no finer time, and a session then costs no synced write of `cache.json`.
    static let usedAtResolution: TimeInterval = 60

    /// What the cache keeps in memory between sessions: facts of commits (which never change), and where each
    /// branch pointed after a mirror's last fetch (valid until the next one).
    struct Memo: Sendable {
        struct Commit: Sendable {
            var runtimeYAML: String?
            var lfs: String?
        }
        var commits: [String: Commit] = [:]
        var branches: [String: (commit: String, fetch: Int)] = [:]
        /// Fetches (and clones) of each origin's mirror since the server started: a branch's commit is known until
        /// the next one.
        var fetches: [String: Int] = [:]
        /// Enough for every commit and branch sessions start on at once; past it the memo starts over.
        static let limit = 1024

        mutating func remember(commit key: String, _ facts: Commit) {
            if commits.count >= Self.limit { commits.removeAll() }
            commits[key] = facts
        }

        mutating func remember(branch key: String, commit: String, fetch: Int) {
            if branches.count >= Self.limit { branches.removeAll() }
            branches[key] = (commit, fetch)
        }
    }

    /// What `cache.json` records about one origin.
    struct Record: Codable, Sendable {
        var url: String
        var fetchedAt: Date?
        var usedAt: Date?
        var layers: [String: Layer] = [:]

        struct Layer: Codable, Sendable {
            var commit: String
            var branch: String
            /// The provider holding it.
            var provider: String
            /// Bytes of its own files (its `.git/objects` are the mirror's).
            var bytes: UInt64
            var createdAt: Date
            var usedAt: Date
            /// The whole layer this one is a delta over (it holds only what differs from it); nil when it is whole.
            var base: String?
            /// Files in its checkout (entries of its index), when known: how large a delta may grow over it.
            var files: Int?
        }
    }

    /// A branch of an origin resolved to a commit, with that commit's checkout as a layer when one was asked for.
    struct Checkout: Sendable {
        var commit: String
        /// The repository's runtime.yml at the commit, if it has one.
        var runtimeYAML: String?
        /// The sealed layer whose `workspace/` is the checkout, with a private `.git`; nil when none was asked for.
        var layer: String?
        /// Whether the mirror was fetched from the origin for this checkout, and whether the layer was sealed now.
        var fetched: Bool
        var sealed: Bool
        /// Set when the commit tracks files with Git LFS: the checkout holds their pointer files, and why.
        var lfs: String?
    }

    public init(
        root: String, refreshWindow: Duration = .zero, logger: Logger = Logger(label: "paddock.repos"),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.logger = logger
        self.root = root
        self.refreshWindow = refreshWindow
        self.clock = clock
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw PaddockError.unavailable("cannot create the repository cache \(root)", underlying: error)
        }
        chmod(root, 0o700)
    }

    /// The directory of an origin's mirror and record.
    func directory(of url: String) -> String { "\(root)/\(Self.key(url))" }
    func mirror(of url: String) -> String { "\(directory(of: url))/mirror.git" }

    static func key(_ url: String) -> String {
        SHA256.hash(data: Data(url.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }

    /// The layer id of a branch's commit: letters and digits, as layer ids must be. The branch is part of it
    /// because the layer's `.git/HEAD` names it.
    static func layerID(url: String, branch: String, commit: String) -> String {
        "repo"
            + SHA256.hash(data: Data("\(url)\0\(branch)\0\(commit)".utf8)).prefix(18)
            .map { String(format: "%02x", $0) }.joined()
    }

    /// Resolves `repository`'s branch in the mirror (made or fetched first as needed), and when `provider` is given
    /// makes sure the commit's checkout is a sealed layer on it, pinned in `starting` (the caller unpins it once
    /// its sandbox holds it). On failure nothing new is left: no mirror of an origin that could not be cloned, no
    /// layer.
    /// `fetch`: fetch from the origin first whatever the window says (a push was announced). `touch`: count this
    /// as a use of the layer (false when the server prepares a layer ahead of any session: such a layer is the
    /// first collected until a session uses it).
    func checkout(
        _ repository: SessionRepository, layerOn provider: (any SandboxProvider)?, fetch: Bool = false,
        touch: Bool = true
    ) async throws -> Checkout {
        try repository.validate()
        let key = Self.key(repository.url)
        return try await locks.withLock(key) {
            var record = loadRecord(repository.url) ?? Record(url: repository.url)
            var fetched = try await refreshHoldingLock(repository.url, &record, force: fetch)
            var commit = try await resolve(repository.branch, url: repository.url)
            if commit == nil, !fetched {
                // The branch may be newer than the last fetch.
                fetched = try await refreshHoldingLock(repository.url, &record, force: true)
                commit = try await resolve(repository.branch, url: repository.url)
            }
            guard let commit else {
                throw PaddockError.invalidArgument(
                    "repository \(repository.url) has no branch '\(repository.branch)'; pass --branch with one of its "
                        + "branches")
            }
            let facts = try await commitFacts(commit, url: repository.url)
            var out = Checkout(
                commit: commit, runtimeYAML: facts.runtimeYAML, layer: nil, fetched: fetched, sealed: false,
                lfs: facts.lfs)
            guard let provider else { return out }
            let layer = Self.layerID(url: repository.url, branch: repository.branch, commit: commit)
            let now = clock()
            if touch { record.usedAt = now }
            // Pinned before it is written: layer collection (the reaper's, or after a fork) must not take the
            // half-written `.staging-` directory from under the checkout. The caller unpins once its sandbox holds
            // the layer; on failure it is unpinned here.
            starting.pin(layer)
            do {
                out.sealed = try await sealIfMissing(
                    layer, repository, commit: commit, on: provider, now: now, touch: touch, &record)
            } catch {
                starting.unpin(layer)
                throw error
            }
            out.layer = layer
            return out
        }
    }

    /// Seals the commit's checkout as `layer` unless the provider has it, and records it in `record` (saved).
    /// Whether it was sealed now.
    private func sealIfMissing(
        _ layer: String, _ repository: SessionRepository, commit: String, on provider: any SandboxProvider,
        now: Date, touch: Bool, _ record: inout Record
    ) async throws -> Bool {
        let held = await provider.layers()
        let sealed = !held.contains(layer)
        if sealed {
            let made = try await seal(layer, repository, commit: commit, on: provider, held: Set(held), record)
            record.layers[layer] = .init(
                commit: commit, branch: repository.branch, provider: provider.name, bytes: made.bytes, createdAt: now,
                usedAt: touch ? now : .distantPast, base: made.base, files: made.files)
        } else if touch {
            // A layer on disk without a record (a record rebuilt after a crash) is adopted as it is.
            let last = record.layers[layer]?.usedAt ?? .distantPast
            guard now.timeIntervalSince(last) >= Self.usedAtResolution else { return false }
            record.layers[
                layer,
                default: .init(
                    commit: commit, branch: repository.branch, provider: provider.name, bytes: 0, createdAt: now,
                    usedAt: now)
            ].usedAt = now
        } else {
            return false
        }
        try saveRecord(record)
        return sealed
    }

    /// The commit's runtime.yml and whether it tracks files with Git LFS: read from the mirror once per commit,
    /// since a commit never changes.
    private func commitFacts(_ commit: String, url: String) async throws -> Memo.Commit {
        let key = "\(url)\0\(commit)"
        if let known = memo.withLock({ $0.commits[key] }) { return known }
        let git = HostGit(mirror(of: url))
        let show = try await git.run(["cat-file", "-p", "\(commit):runtime.yml"], trust: .content, limit: 1 << 20)
        var facts = Memo.Commit(runtimeYAML: show.succeeded ? show.stdout : nil)
        let attributes = try await git.run(["cat-file", "-p", "\(commit):.gitattributes"], trust: .content)
        if attributes.succeeded, attributes.stdout.contains("filter=lfs") {
            facts.lfs =
                try await Self.run("git", ["lfs", "version"]).status == 0
                ? "LFS files are pointer files: the server does not fetch LFS objects yet"
                : "LFS files are pointer files: git-lfs is not installed on the server host (apt-get install git-lfs)"
        }
        memo.withLock { $0.remember(commit: key, facts) }
        return facts
    }

    /// The origin's mirror, made or refreshed as the window says; for the server's per-session clones.
    func mirror(for url: String) async throws -> String {
        try await locks.withLock(Self.key(url)) {
            var record = loadRecord(url) ?? Record(url: url)
            if try await refreshHoldingLock(url, &record, force: false) { try saveRecord(record) }
            return mirror(of: url)
        }
    }

    /// Clones the mirror when there is none, or fetches into it when it is older than the window (or `force`);
    /// returns whether it talked to the origin.
    private func refreshHoldingLock(_ url: String, _ record: inout Record, force: Bool) async throws -> Bool {
        let mirror = mirror(of: url)
        if FileManager.default.fileExists(atPath: mirror) {
            if !force, let last = record.fetchedAt, clock().timeIntervalSince(last) < refreshWindow.seconds {
                return false
            }
            // Counted before it starts: a fetch that fails half-way may have moved some branches.
            memo.withLock { $0.fetches[url, default: 0] += 1 }
            let fetch = try await HostGit(mirror).run(["fetch", "--quiet", "--prune", "origin"], trust: .remote)
            guard fetch.succeeded else { throw Self.remoteFailure(url, fetch, doing: "fetch") }
            record.fetchedAt = clock()
            try saveRecord(record)
            return true
        }
        memo.withLock { $0.fetches[url, default: 0] += 1 }
        let directory = directory(of: url)
        let fresh = !FileManager.default.fileExists(atPath: directory)
        let staging = "\(directory)/.staging-mirror-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let clone = try await HostGit(nil).run(
                ["clone", "--quiet", "--mirror", "--", url, staging], trust: .remote)
            guard clone.succeeded else { throw Self.remoteFailure(url, clone, doing: "clone") }
            // Packs stay packs (a layer links them); no automatic gc repacks or prunes under a sealed layer.
            for setting in [["gc.auto", "0"], ["fetch.unpackLimit", "1"], ["transfer.unpackLimit", "1"]] {
                try await HostGit(staging).check(["config"] + setting, trust: .content, "configuring the mirror")
            }
            try FileManager.default.moveItem(atPath: staging, toPath: mirror)
            record.fetchedAt = clock()
            try saveRecord(record)
            return true
        } catch {
            removeBestEffort(fresh ? directory : staging)
            throw error
        }
    }

    /// The commit `branch` points at in the mirror, or nil when it has no such branch. Asked of git once per fetch
    /// of the mirror: only a fetch moves its branches (`refreshHoldingLock`, under the origin's lock as this is).
    private func resolve(_ branch: String, url: String) async throws -> String? {
        let key = "\(url)\0\(branch)"
        let (fetch, known) = memo.withLock { memo in (memo.fetches[url, default: 0], memo.branches[key]) }
        if let known, known.fetch == fetch { return known.commit }
        let out = try await HostGit(mirror(of: url)).run(
            ["rev-parse", "--verify", "--quiet", "refs/heads/\(branch)^{commit}"], trust: .content)
        guard out.succeeded else { return nil }
        let commit = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        memo.withLock { $0.remember(branch: key, commit: commit, fetch: fetch) }
        return commit
    }

    /// What a failed clone or fetch means, named: a full disk, a missing origin, or git's own words.
    static func remoteFailure(_ url: String, _ out: HostGit.Output, doing what: String) -> PaddockError {
        let problem = out.problem
        if problem.localizedCaseInsensitiveContains("No space left on device") {
            return PaddockError(
                .resourceExhausted,
                "the repository cache's disk is full while trying to \(what) \(url); free space on the server's data "
                    + "disk or remove cached repositories (`paddock repos rm`)")
        }
        return .invalidArgument(
            "cannot \(what) \(url): \(problem); check the URL or path and that the server's host can read it")
    }

    /// Writes a commit's checkout into `workspace`: the files, owned by the sandbox user, and a `.git` of its own
    /// — HEAD on `branch`, an index whose stat data matches the files (so `git status` hashes nothing), no
    /// remote, no hooks, no credentials — with the mirror's objects linked in (read-only, shared by every layer
    /// of the origin where the filesystem allows, copied otherwise).
    static func fill(_ workspace: String, mirror: String, branch: String, commit: String) async throws {
        // The checkout belongs to the sandbox user, not to the server's; git must be told that is expected.
        let git = HostGit(workspace, safeDirectory: true)
        try await git.check(["init", "--quiet", "--template=", "."], trust: .content, "preparing the checkout")
        let objects = "\(workspace)/.git/objects"
        // Borrowed while checking out; replaced by the objects themselves before the layer is sealed, so
        // nothing in the layer points at a host path.
        try Data("\(mirror)/objects\n".utf8).write(to: URL(fileURLWithPath: "\(objects)/info/alternates"))
        for setting in [["core.trustctime", "false"], ["gc.auto", "0"]] {
            try await git.check(["config"] + setting, trust: .content, "configuring the checkout")
        }
        try await git.check(["update-ref", "refs/heads/\(branch)", commit], trust: .content, "setting the branch")
        try await git.check(["symbolic-ref", "HEAD", "refs/heads/\(branch)"], trust: .content, "setting HEAD")
        let checkout = try await git.run(["read-tree", "--reset", "-u", commit], trust: .content)
        guard checkout.succeeded else {
            if checkout.problem.localizedCaseInsensitiveContains("No space left on device") {
                throw PaddockError(
                    .resourceExhausted,
                    "the server's disk is full while checking out \(commit.prefix(12)); free space on its data disk")
            }
            throw PaddockError.internal("checking out \(commit.prefix(12)) failed: git says: \(checkout.problem)")
        }
        // Files written in the second the index is written are "racily clean" to git, which would then hash them
        // again — and rewrite the index — at every session's first `git status`. Dated two seconds back and given
        // to the sandbox user, they are all re-stated once here (one hash of the tree per commit, not per session).
        try backdateAndOwn(workspace, by: 2)
        try await git.check(["update-index", "-q", "--refresh"], trust: .content, "refreshing the index")
        try await installFSMonitor(workspace)
        try own("\(workspace)/.git/index")
        try FileManager.default.removeItem(atPath: "\(objects)/info/alternates")
        let link = try await run("cp", ["-a", "--link", "--", "\(mirror)/objects/.", objects])
        if link.status != 0 {
            try await tool("cp", ["-a", "--", "\(mirror)/objects/.", objects], "copying the repository's objects")
        }
        // The object files stay the mirror's (read-only, root's); the directories become the sandbox user's, so
        // its commits can add objects beside them.
        try ownDirectories(under: objects)
    }

    /// Gives everything under `path` to the sandbox user, and dates the files outside `.git` `seconds` back.
    static func backdateAndOwn(_ path: String, by seconds: Int) throws {
        let times = past(seconds)
        try own(path)
        guard let walker = FileManager.default.enumerator(atPath: path) else {
            throw PaddockError.internal("cannot read the checkout at \(path)")
        }
        while let relative = walker.nextObject() as? String {
            let full = "\(path)/\(relative)"
            try own(full)
            if relative == ".git" || relative.hasPrefix(".git/") { continue }
            guard utimensat(AT_FDCWD, full, times, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw PaddockError.internal("dating \(relative) of the checkout failed (errno \(errno))")
            }
        }
    }

    /// Access and modification times `seconds` before now, for `utimensat`.
    static func past(_ seconds: Int) -> [timespec] {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let past = timespec(tv_sec: now.tv_sec - seconds, tv_nsec: 0)
        return [past, past]
    }

    static func own(_ path: String) throws {
        guard lchown(path, SandboxLayout.userID, SandboxLayout.groupID) == 0 else {
            throw PaddockError.internal("giving \(path) to the sandbox user failed (errno \(errno))")
        }
    }

    static func ownDirectories(under path: String) throws {
        let fm = FileManager.default
        var directories = [path]
        if let walker = fm.enumerator(atPath: path) {
            while let relative = walker.nextObject() as? String {
                let full = "\(path)/\(relative)"
                var st = stat()
                if lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { directories.append(full) }
            }
        }
        for directory in directories where lchown(directory, SandboxLayout.userID, SandboxLayout.groupID) != 0 {
            throw PaddockError.internal("giving \(directory) to the sandbox user failed (errno \(errno))")
        }
    }

    /// Runs a host tool; a failure is an error naming `what`.
    static func tool(_ name: String, _ arguments: [String], _ what: String) async throws {
        let out = try await run(name, arguments)
        guard out.status == 0 else { throw PaddockError.internal("\(what) failed: \(out.problem)") }
    }

    static func run(_ name: String, _ arguments: [String]) async throws -> HostGit.Output {
        do {
            let record = try await Subprocess.run(
                .name(name), arguments: Arguments(arguments), input: .none, output: .discarded,
                error: .string(limit: 1 << 16))
            let status: Int32
            switch record.terminationStatus {
            case .exited(let code): status = code
            case .signaled(let signal): status = 128 + signal
            }
            return HostGit.Output(status: status, stdout: "", stderr: record.standardError)
        } catch {
            throw PaddockError.unavailable("could not run \(name) on the server host", underlying: error)
        }
    }

    // MARK: Management (`paddock repos`)

    /// Every cached origin with its sizes; `inUse`: layers some live session's /workspace is a view of.
    func summaries(inUse: Set<String>) -> [CachedRepository] {
        records().map { record in
            let used = Self.withBases(of: inUse.union(starting.all), in: record)
            let layers = record.layers.map { id, layer in
                CachedRepository.Layer(
                    id: id, commit: layer.commit, branch: layer.branch, bytes: layer.bytes, createdAt: layer.createdAt,
                    usedAt: layer.usedAt, inUse: used.contains(id))
            }.sorted { $0.usedAt > $1.usedAt }
            let mirrorBytes = Self.treeBytes(mirror(of: record.url), skipping: nil)
            return CachedRepository(
                id: Self.key(record.url), url: record.url, bytes: mirrorBytes + layers.reduce(0) { $0 + $1.bytes },
                fetchedAt: record.fetchedAt, usedAt: record.usedAt, layers: layers)
        }
    }

    /// The record of a cached origin named by its id or its URL.
    func find(_ name: String) -> Record? {
        records().first { Self.key($0.url) == name || $0.url == name }
    }

    /// Fetches the origin now, whatever the window says.
    func refresh(_ url: String) async throws {
        try await locks.withLock(Self.key(url)) {
            var record = loadRecord(url) ?? Record(url: url)
            _ = try await refreshHoldingLock(url, &record, force: true)
        }
    }

    /// Removes an origin's layers that nothing uses and, when none is left, its mirror; returns the layers kept
    /// because a session still uses them.
    func remove(_ url: String, providers: [String: any SandboxProvider], inUse: Set<String>) async throws -> [String] {
        try await locks.withLock(Self.key(url)) {
            guard var record = loadRecord(url) else { return [] }
            var kept: [String] = []
            // Deltas first: a base stays as long as a delta over it does.
            for (id, layer, _) in Self.collectionOrder(record) {
                guard await removeLayer(id, layer, providers: providers, inUse: inUse) else {
                    kept.append(id)
                    continue
                }
                record.layers[id] = nil
            }
            if kept.isEmpty {
                try FileManager.default.removeItem(atPath: directory(of: url))
            } else {
                try saveRecord(record)
            }
            return kept.sorted()
        }
    }

    /// Removes one layer unless it is in use; whether it is gone.
    private func removeLayer(
        _ id: String, _ layer: Record.Layer, providers: [String: any SandboxProvider], inUse: Set<String>
    ) async -> Bool {
        guard !inUse.contains(id), !starting.isPinned(id) else { return false }
        guard let provider = providers[layer.provider] else { return true }
        await provider.removeLayer(id)
        // The provider keeps a layer a sandbox is mounted on, whatever the store says.
        return await !provider.layers().contains(id)
    }

    /// Brings the cache under `limit` bytes: least recently used layers first (never one in use), then mirrors
    /// left without layers, least recently used first. Returns what was removed (layer ids and mirror URLs).
    func collect(limit: UInt64, providers: [String: any SandboxProvider], inUse: Set<String>) async -> [String] {
        var total = summaries(inUse: inUse).reduce(UInt64(0)) { $0 + $1.bytes }
        guard total > limit else { return [] }
        var removed: [String] = []
        let candidates = records().flatMap { record in
            Self.collectionOrder(record).map { (record.url, $0.id, $0.layer, $0.isWhole ? 1 : 0) }
        }.sorted { ($0.2.usedAt, $0.3) < ($1.2.usedAt, $1.3) }
        for (url, id, layer, _) in candidates where total > limit {
            let gone: Bool
            do {
                gone = try await locks.withLock(Self.key(url)) {
                    guard var record = loadRecord(url), record.layers[id] != nil else { return false }
                    guard await removeLayer(id, layer, providers: providers, inUse: inUse) else { return false }
                    record.layers[id] = nil
                    try saveRecord(record)
                    return true
                }
            } catch {
                logger.warning(
                    "could not collect a repository layer", metadata: ["layer.id": "\(id)", "error": "\(error)"])
                continue
            }
            if gone {
                total -= min(total, layer.bytes)
                removed.append(id)
            }
        }
        for record in records().sorted(by: { ($0.usedAt ?? .distantPast) < ($1.usedAt ?? .distantPast) })
        where total > limit && record.layers.isEmpty {
            let bytes = Self.treeBytes(mirror(of: record.url), skipping: nil)
            do {
                try await locks.withLock(Self.key(record.url)) {
                    // Checked again under the lock: a session may have sealed a layer from it meanwhile.
                    guard loadRecord(record.url)?.layers.isEmpty ?? true else { return }
                    try FileManager.default.removeItem(atPath: directory(of: record.url))
                    total -= min(total, bytes)
                    removed.append(record.url)
                }
            } catch {
                logger.warning(
                    "could not remove a cached repository",
                    metadata: ["repository": "\(record.url)", "error": "\(error)"])
                continue
            }
        }
        return removed
    }

    /// `layers` with the whole layers they are deltas over: a base is in use while a delta over it is.
    static func withBases(of layers: Set<String>, in record: Record) -> Set<String> {
        layers.union(layers.compactMap { record.layers[$0]?.base })
    }

    /// An origin's layers in the order they may be removed: deltas before whole layers (a base stays as long as a
    /// delta over it does), and a base counted as last used when a delta over it last was.
    static func collectionOrder(_ record: Record) -> [(id: String, layer: Record.Layer, isWhole: Bool)] {
        var lastUse: [String: Date] = [:]
        for layer in record.layers.values {
            guard let base = layer.base else { continue }
            lastUse[base] = max(lastUse[base] ?? .distantPast, layer.usedAt)
        }
        return record.layers.map { id, layer in
            var layer = layer
            let isWhole = layer.base == nil
            layer.usedAt = max(layer.usedAt, lastUse[id] ?? .distantPast)
            return (id, layer, isWhole)
        }.sorted { ($0.isWhole ? 1 : 0, $0.id) < ($1.isWhole ? 1 : 0, $1.id) }
    }

    /// Bytes of the regular files under `path` (links and directories not counted), leaving out `skipping`.
    static func treeBytes(_ path: String, skipping: String?) -> UInt64 {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: UInt64 = 0
        while let relative = walker.nextObject() as? String {
            if let skipping, relative == skipping {
                walker.skipDescendants()
                continue
            }
            var st = stat()
            if lstat("\(path)/\(relative)", &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += UInt64(st.st_size) }
        }
        return total
    }

    // MARK: Records

    private func recordPath(_ url: String) -> String { "\(directory(of: url))/cache.json" }

    func loadRecord(_ url: String) -> Record? { readRecord(at: recordPath(url)) }

    /// A record that cannot be read counts as none and is rebuilt: the mirror is fetched again, layers are sealed
    /// again. Said in the log, because its layers stop being the cache's until then.
    private func readRecord(at path: String) -> Record? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do { return try decoder.decode(Record.self, from: data) } catch {
            logger.warning(
                "a repository cache record cannot be read; it will be rebuilt",
                metadata: ["path": "\(path)", "error": "\(error)"])
            return nil
        }
    }

    func saveRecord(_ record: Record) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(Array(try encoder.encode(record)), to: recordPath(record.url), mode: 0o600)
    }

    /// Every cached origin's record.
    func records() -> [Record] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: root) } catch {
            // No cache directory yet (nothing was ever cached): it is made on first use.
            return []
        }
        return names.sorted().compactMap { readRecord(at: "\(root)/\($0)/cache.json") }
    }

    /// The ids of every layer the cache holds: layer collection keeps them.
    public func layerIDs() -> Set<String> { Set(records().flatMap { $0.layers.keys }).union(starting.all) }

    /// Removes scratch files of the cache or of a session's clone. One that cannot be removed is logged and left:
    /// staging and export directories are swept when the server next starts.
    func removeBestEffort(_ path: String) {
        do { try FileManager.default.removeItem(atPath: path) } catch {
            guard FileManager.default.fileExists(atPath: path) else { return }
            logger.warning(
                "could not remove a repository scratch directory; it is swept at the next start",
                metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}

extension Duration {
    fileprivate var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
