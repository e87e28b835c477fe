import Foundation
import Logging
import PaddockCore
import PaddockLinux
import PaddockSandbox
import PaddockServices
import PaddockStore
import Subprocess
import SystemPackage

/// Repository sessions (`--only repo`): sessions on generated repositories (4 KiB files, one commit, made with
/// `git fast-import` under the bench's data directory and removed afterwards), against a plain `git clone` of
/// the same origin on the host. Each size gets:
/// - `peer.git_clone.<size>`: `git clone` of the origin's path (objects linked, files checked out);
/// - `paddock.repo_session_first.<size>`: an empty cache: mirror, seal the commit's layer, start, `git status`;
/// - `paddock.repo_session.<size>`: the commit cached: start (warm pool) → `git status --short` exited;
/// - `paddock.repo_session_new_commit.<size>`: the origin moved by a commit changing 10 files since the last
///   session: fetch, seal (a delta over the first commit's layer), start, `git status`;
/// - `paddock.repo_session_disk.<size>` / `_memory.<size>`: per extra running session after its `git status`;
/// - `limit.repo_index_read.<size>`: `git update-index` with nothing to update in such a session: git reading the
///   index and nothing else, which every `git status` does first.
struct RepoBenchmark {
    let iterations: Int
    let provider: LocalProvider
    let dataDirectory: String
    /// Files per generated repository, one measurement set per entry.
    let fileCounts: [Int]

    static let fileBytes = 4096

    func run() async throws -> [Benchmarks.Result] {
        var logger = Logger(label: "paddock.bench.repo")
        logger.logLevel = .error
        let store = try SQLiteStore.inMemory(logger: logger)
        let sessions = SessionService(store: store, providers: [provider.name: provider], logger: logger)
        let root = dataDirectory + "/repo-bench"
        Self.remove(root, logger)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { Self.remove(root, logger) }
        var results: [Benchmarks.Result] = []
        do {
            for count in fileCounts {
                results += try await measure(count, root: root, sessions: sessions, logger: logger)
            }
        } catch {
            await cleanUp(sessions)
            throw error
        }
        await cleanUp(sessions)
        return results
    }

    private func measure(_ count: Int, root: String, sessions: SessionService, logger: Logger) async throws
        -> [Benchmarks.Result]
    {
        let size = count % 1000 == 0 ? "\(count / 1000)k" : "\(count)"
        let origin = "\(root)/origin-\(size).git"
        try await Self.generate(origin, files: count)
        let rounds = max(3, min(iterations, 10))
        var results: [Benchmarks.Result] = []

        var clones = 0
        let cloneSamples = try await samples(rounds) {
            clones += 1
            try await Self.sh(
                "git clone --quiet '\(origin)' '\(root)/clone-\(clones)' && rm -rf '\(root)/clone-\(clones)'")
        }
        results.append(
            Benchmarks.summarize(
                "peer.git_clone.\(size)", unit: "ms", cloneSamples,
                note: "git clone of the origin's path (includes removing the clone)"))

        var spec = SessionSpec()
        spec.repository = SessionRepository(url: origin, branch: "main")

        // A cold cache each time: a new cache directory, and the commit's layer removed from the provider.
        var first: [Double] = []
        for round in 0...rounds {
            let clones = try RepositoryClones(root: "\(root)/cache-first-\(round)")
            await sessions.setRepositories(clones)
            let (ms, _) = try await timedSession(spec, sessions)
            if round > 0 { first.append(ms) }
            await removeLayers(clones.cache.layerIDs())
        }
        results.append(
            Benchmarks.summarize(
                "paddock.repo_session_first.\(size)", unit: "ms", first,
                note: "empty cache: mirror, seal the commit, warm start → git status --short exited"))

        // The commit cached, within the refresh window: nothing is fetched or sealed.
        let cached = try RepositoryClones(root: "\(root)/cache", refreshWindow: .seconds(3600))
        await sessions.setRepositories(cached)
        var warm: [Double] = []
        var starts: Set<String> = []
        for round in 0...rounds {
            let (ms, start) = try await timedSession(spec, sessions)
            starts.insert(start)
            if round > 0 { warm.append(ms) }
        }
        results.append(
            Benchmarks.summarize(
                "paddock.repo_session.\(size)", unit: "ms", warm,
                note: "commit cached: \(starts.sorted().joined(separator: "/")) start → git status --short exited"))

        // Host cost of extra sessions on the cached commit, each after its `git status`.
        var disk: [Double] = []
        var memory: [Double] = []
        // And the least any git command that reads the index costs in a session: `git update-index` with nothing
        // to update reads it (and asks the fsmonitor hook, as every git run here does) and writes nothing; no file
        // is stated and no directory read.
        var indexRead: [Double] = []
        var extra: [SessionID] = []
        for _ in 0..<5 {
            let s = try await sessions.create(spec, by: .system)
            extra.append(s.id)
            try await Self.gitStatus(provider, s.id)
            let stats = try await provider.stats(s.id)
            disk.append(Double(stats.diskUsedBytes) / 1_048_576)
            memory.append(Double(stats.memoryBytes) / 1_048_576)
            indexRead.append(
                try await Benchmarks.milliseconds {
                    try await Self.git(["update-index"], provider, s.id)
                })
        }
        for id in extra { try await sessions.destroy(id, by: .system) }
        results.append(
            Benchmarks.summarize(
                "paddock.repo_session_disk.\(size)", unit: "MiB", disk,
                note: "used on an extra session's own disk after git status (its filesystem's overhead included)"))
        results.append(
            Benchmarks.summarize(
                "paddock.repo_session_memory.\(size)", unit: "MiB", memory,
                note: "memory cgroup charge of an extra session after git status (page cache included)"))
        results.append(
            Benchmarks.summarize(
                "limit.repo_index_read.\(size)", unit: "ms", indexRead,
                note: "git update-index with nothing to update in a running session: git reading the index, the "
                    + "floor of git status"))

        // The origin moves by one commit of 10 changed files before each session; the cache fetches every time.
        let moving = try RepositoryClones(root: "\(root)/cache")
        await sessions.setRepositories(moving)
        var newCommit: [Double] = []
        for round in 0...rounds {
            let older = moving.cache.layerIDs()
            try await Self.advance(origin, files: count, round: round)
            let (ms, _) = try await timedSession(spec, sessions)
            if round > 0 { newCommit.append(ms) }
            // The previous commit's layer is of no more use (the whole layer the new one is a delta over stays).
            await removeLayers(older)
        }
        await removeLayers(moving.cache.layerIDs())
        results.append(
            Benchmarks.summarize(
                "paddock.repo_session_new_commit.\(size)", unit: "ms", newCommit,
                note: "origin moved by 10 files: fetch, seal the new commit as a delta over the first one's layer, "
                    + "warm start → git status exited"))
        return results
    }

    /// One session on `spec` from a one-sandbox warm pool, timed from create to its `git status --short` exiting,
    /// then destroyed; with how it started (`warm` or `cold`).
    private func timedSession(_ spec: SessionSpec, _ sessions: SessionService) async throws -> (
        ms: Double, start: String
    ) {
        _ = try await provider.fillPool(.host, size: 1)
        var started: Session?
        let ms = try await Benchmarks.milliseconds {
            let s = try await sessions.create(spec, by: .system)
            started = s
            try await Self.gitStatus(provider, s.id)
        }
        if let started { try await sessions.destroy(started.id, by: .system) }
        return (ms, started?.start?.hasPrefix("cold") == true ? "cold" : "warm")
    }

    private func samples(_ count: Int, _ body: () async throws -> Void) async throws -> [Double] {
        try await body()
        var out: [Double] = []
        for _ in 0..<count { out.append(try await Benchmarks.milliseconds(body)) }
        return out
    }

    private func cleanUp(_ sessions: SessionService) async {
        do {
            for s in try await sessions.list(includeEnded: false) { try await sessions.destroy(s.id, by: .system) }
            _ = try await provider.fillPool(.host, size: 0)
        } catch {
            // The data directory's recovery on the next run removes what is left.
            return
        }
        // Only this benchmark makes repository layers in the bench's data directory.
        await removeLayers(
            await provider.layers().filter { $0.hasPrefix("repo") || $0.hasPrefix(".staging-repo") })
    }

    /// Removes layers, deltas before the whole layers they are over (the provider keeps a base while a delta over
    /// it is there).
    private func removeLayers(_ layers: some Collection<String>) async {
        let deltas = layers.filter { provider.deltaBase(of: $0) != nil }
        for layer in deltas + layers.filter({ !deltas.contains($0) }) { await provider.removeLayer(layer) }
    }

    /// `git status --short` in the session's /workspace as the sandbox user, to its exit.
    static func gitStatus(_ provider: LocalProvider, _ id: SessionID) async throws {
        try await git(["status", "--short"], provider, id)
    }

    /// `git` with `arguments` in the session's /workspace as the sandbox user, to its exit.
    static func git(_ arguments: [String], _ provider: LocalProvider, _ id: SessionID) async throws {
        let handle = try await provider.initClient(id).exec(
            ExecRequest(
                argv: ["git"] + arguments, env: SandboxLayout.baseEnvironment(user: .user),
                cwd: SandboxLayout.workspace, user: .user))
        for try await event in handle.events {
            if case .exited(let status) = event, status.code != 0 {
                throw PaddockError.internal("git \(arguments.first ?? "") exited \(status.code) in the sandbox")
            }
        }
    }

    /// A bare repository whose `main` holds `files` files of `fileBytes` bytes, in directories of 100.
    static func generate(_ origin: String, files: Int) async throws {
        try await sh("git init --quiet --bare --initial-branch=main '\(origin)'")
        let stream = origin + ".import"
        guard FileManager.default.createFile(atPath: stream, contents: nil),
            let out = FileHandle(forWritingAtPath: stream)
        else { throw PaddockError.internal("cannot write \(stream)") }
        let pool = Self.pool()
        var commit = Data("commit refs/heads/main\ncommitter Bench <bench@localhost> 1700000000 +0000\n".utf8)
        commit += Data("data 7\ninitial\n".utf8)
        var batch = Data()
        for i in 0..<files {
            let content = Self.content(i, pool: pool, version: 0)
            batch += Data("blob\nmark :\(i + 1)\ndata \(content.count)\n".utf8)
            batch += content
            batch += Data("\n".utf8)
            commit += Data("M 100644 :\(i + 1) \(Self.path(i))\n".utf8)
            if batch.count > 8 << 20 {
                try out.write(contentsOf: batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        try out.write(contentsOf: batch + commit)
        try out.close()
        try await sh("git -C '\(origin)' fast-import --quiet < '\(stream)' && rm -f '\(stream)'")
    }

    /// One more commit on `main` changing 10 files.
    static func advance(_ origin: String, files: Int, round: Int) async throws {
        let pool = Self.pool()
        var text = Data(
            "commit refs/heads/main\ncommitter Bench <bench@localhost> \(1_700_000_000 + round + 1) +0000\n".utf8)
        text += Data("data 6\nchange\nfrom refs/heads/main^0\n".utf8)
        for k in 0..<10 {
            let i = (round * 10 + k) * 97 % files
            let content = Self.content(i, pool: pool, version: round + 1)
            text += Data("M 100644 inline \(Self.path(i))\ndata \(content.count)\n".utf8) + content + Data("\n".utf8)
        }
        let stream = origin + ".advance"
        try text.write(to: URL(fileURLWithPath: stream))
        try await sh("git -C '\(origin)' fast-import --quiet --force < '\(stream)' && rm -f '\(stream)'")
    }

    static func path(_ i: Int) -> String { "d\(i / 100)/f\(i % 100).txt" }

    /// 1 MiB of pseudo-random printable bytes the files are cut from (a cheap generator, not a secure one).
    static func pool() -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var out = [UInt8](repeating: 0, count: 1 << 20)
        for i in out.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            out[i] = UInt8(33 + (state >> 33) % 94)
        }
        return out
    }

    /// File `i`'s content: a header naming it, then a window of the pool no neighbour shares.
    static func content(_ i: Int, pool: [UInt8], version: Int) -> Data {
        let header = Data("file \(i) version \(version)\n".utf8)
        let length = fileBytes - header.count
        let offset = (i * 7919 + version * 104_729) % (pool.count - length)
        return header + Data(pool[offset..<(offset + length)])
    }

    static func sh(_ script: String) async throws {
        let r = try await Subprocess.run(
            .path(FilePath("/bin/sh")), arguments: ["-c", script], output: .discarded, error: .string(limit: 4096))
        guard case .exited(0) = r.terminationStatus else {
            throw PaddockError.internal("\(script) failed: \(r.standardError)")
        }
    }

    private static func remove(_ path: String, _ logger: Logger) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            logger.error("could not remove the repository benchmark's files", metadata: ["error": "\(error)"])
        }
    }
}
