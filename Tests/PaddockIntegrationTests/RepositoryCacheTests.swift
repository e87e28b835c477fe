import Foundation
import PaddockCore
import PaddockSandbox
import PaddockServices
import PaddockTestSupport
import Testing

/// Repository sessions from the server's cache: one mirror per origin, one sealed layer per commit, and every
/// session on a copy-on-write view of it with a working git of its own.
@Suite(.needsSandboxes, .serialized)
struct RepositoryCacheTests {
    static let files: [String: String] = [
        "README.md": "# calc\n", "calc.py": "def add(a, b):\n    return a + b\n", "src/deep/dir/f.txt": "f\n",
    ]

    static func spec(_ fixture: GitFixture, branch: String = "feature") -> SessionSpec {
        var spec = SessionSpec()
        spec.repository = SessionRepository(url: fixture.origin, branch: branch)
        return spec
    }

    static func withCache(
        _ label: String, refresh: Duration = .zero,
        _ body: (TestStack, GitFixture, RepositoryClones) async throws -> Void
    ) async throws {
        let fixture = try GitFixture.make(label, files: files)
        defer { fixture.remove() }
        try await withTestStack(label) { stack in
            let clones = try RepositoryClones(root: stack.dataDirectory + "/repos", refreshWindow: refresh)
            await stack.sessions.setRepositories(clones)
            try await body(stack, fixture, clones)
        }
    }

    /// The `repository.clone` event of a session: whether it fetched and whether it sealed a layer.
    static func cloneEvent(_ stack: TestStack, _ id: SessionID) async throws -> [String: AuditValue] {
        let events = try await #require(await stack.sessions.audit).events(session: id)
        return try #require(events.first { $0.kind == "repository.clone" }).fields
    }

    @Test func sessionsOnOneCommitShareItsLayerAndNotTheirChanges() async throws {
        try await Self.withCache("cache-share") { stack, fixture, clones in
            let base = try #require(fixture.originBranch("feature"))
            let one = try await stack.sessions.create(Self.spec(fixture))
            let two = try await stack.sessions.create(Self.spec(fixture))
            #expect(one.spec.repository?.base == base && two.spec.repository?.base == base)
            let layer = try #require(stack.provider.sharedLayer(of: one.id))
            #expect(stack.provider.sharedLayer(of: two.id) == layer, "both sessions are views of one layer")
            #expect(clones.cache.layerIDs() == [layer])
            #expect(try await Self.cloneEvent(stack, one.id)["sealed"] == .bool(true))
            #expect(try await Self.cloneEvent(stack, two.id)["sealed"] == .bool(false))

            // A working git: clean, with history, no remote; the index is not rewritten by the first status.
            let git = try await stack.sessions.sh(
                one.id,
                "cd /workspace && stat -c %Y.%i .git/index && git status --short && stat -c %Y.%i .git/index "
                    + "&& git log --format=%H && git branch --show-current && git remote | wc -l && cat src/deep/dir/f.txt"
            )
            #expect(git.status.code == 0, "\(git.stderr)")
            let lines = git.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 6, "status prints nothing on a fresh session: \(lines)")
            #expect(lines.first == lines.dropFirst().first, "git status did not have to refresh the index")
            #expect(lines.contains(base) && lines.contains("feature") && lines.suffix(2) == ["0", "f"])

            // Changes, commits and branches in one session are invisible to the other and to the layer.
            let work = try await stack.sessions.sh(
                one.id,
                "cd /workspace && git checkout -q -b topic && echo more >> README.md && rm calc.py && "
                    + "git -c user.name=a -c user.email=a@b commit -qam change && git log --format=%s -1")
            #expect(work.status.code == 0 && work.stdout == "change\n", "\(work.stderr)")
            let other = try await stack.sessions.sh(
                two.id, "cd /workspace && git status --short && git branch --list && cat README.md calc.py")
            #expect(other.status.code == 0, "\(other.stderr)")
            #expect(other.stdout == "* feature\n# calc\ndef add(a, b):\n    return a + b\n", "\(other.stdout)")
            let sealed = stack.dataDirectory + "/layers/\(layer)/workspace"
            #expect(FileManager.default.contents(atPath: sealed + "/README.md") == Data("# calc\n".utf8))
            #expect(FileManager.default.fileExists(atPath: sealed + "/calc.py"))

            // Diff and submit read the session's files as before: exactly its change leaves.
            let diff = try await stack.sessions.diff(one.id)
            #expect(Set(diff.files.map(\.path)) == ["README.md", "calc.py"], "\(diff.files)")
            let submitted = try await stack.sessions.submit(one.id, message: "cached", branch: nil, by: nil)
            #expect(submitted.submitted, "\(submitted.problems)")
            let pushed = try fixture.originGit(["diff", "--name-only", base, "paddock/\(one.id.rawValue)"])
            #expect(pushed == "README.md\ncalc.py\n")

            // Destroyed, the sessions leave the layer to the cache.
            try await stack.sessions.destroy(one.id)
            try await stack.sessions.destroy(two.id)
            #expect(FileManager.default.fileExists(atPath: sealed))
            await SnapshotService(sessions: stack.sessions).collectLayers()
            #expect(FileManager.default.fileExists(atPath: sealed), "layer collection keeps the cache's layers")
        }
    }

    @Test func aNewOriginCommitReachesTheNextSession() async throws {
        try await Self.withCache("cache-new") { stack, fixture, _ in
            let first = try await stack.sessions.create(Self.spec(fixture))
            try fixture.write(["calc.py": "def add(a, b):\n    return b + a\n"])
            try fixture.commit("second")
            try fixture.git(["push", "--quiet", "origin", "HEAD:refs/heads/feature"])
            let tip = try #require(fixture.originBranch("feature"))
            let second = try await stack.sessions.create(Self.spec(fixture))
            #expect(second.spec.repository?.base == tip && first.spec.repository?.base != tip)
            let seen = try await stack.sessions.sh(second.id, "cd /workspace && git status --short && cat calc.py")
            #expect(seen.stdout == "def add(a, b):\n    return b + a\n", "\(seen.stdout) \(seen.stderr)")
            let old = try await stack.sessions.sh(first.id, "cat /workspace/calc.py")
            #expect(old.stdout == "def add(a, b):\n    return a + b\n")
        }
    }

    /// A new commit's layer is a delta over the previous commit's: it holds the changed files, a whiteout for the
    /// deleted one and its own `.git` state, nothing else; the two stacked are what a fresh checkout of the commit
    /// holds, with a clean index.
    @Test func aNewCommitIsSealedAsADeltaOverTheNearestLayerAsAFreshCheckoutWouldBe() async throws {
        try await Self.withCache("cache-delta") { stack, fixture, clones in
            let first = try await stack.sessions.create(Self.spec(fixture))
            let parent = try #require(stack.provider.sharedLayer(of: first.id))
            try fixture.write([
                "calc.py": "def add(a, b):\n    return b + a\n", "new/dir/x.txt": "x\n", "run.sh": "#!/bin/sh\n",
            ])
            _ = try fixture.git(["rm", "-q", "README.md"])
            // An executable and a symbolic link: git status in the session is clean only if both come out as such.
            guard chmod(fixture.work + "/run.sh", 0o755) == 0, symlink("calc.py", fixture.work + "/link") == 0 else {
                throw POSIXError(.EIO)
            }
            try fixture.commit("second")
            try fixture.git(["push", "--quiet", "origin", "HEAD:refs/heads/feature"])
            let tip = try #require(fixture.originBranch("feature"))
            let second = try await stack.sessions.create(Self.spec(fixture))
            let child = try #require(stack.provider.sharedLayer(of: second.id))
            #expect(child != parent && clones.cache.layerIDs() == [parent, child])
            #expect(try await Self.cloneEvent(stack, second.id)["sealed"] == .bool(true))
            #expect(stack.provider.deltaBase(of: child) == parent && stack.provider.deltaBase(of: parent) == nil)

            let layers = stack.dataDirectory + "/layers"
            func kind(_ layer: String, _ path: String) -> mode_t? {
                var st = stat()
                return lstat("\(layers)/\(layer)/workspace/\(path)", &st) == 0 ? st.st_mode & S_IFMT : nil
            }
            #expect(kind(child, "src/deep/dir/f.txt") == nil, "an unchanged file is only the base's")
            #expect(kind(child, "calc.py") == S_IFREG && kind(child, "new/dir/x.txt") == S_IFREG)
            #expect(kind(child, "README.md") == S_IFCHR, "a deletion is a whiteout")
            let parentCalc = FileManager.default.contents(atPath: "\(layers)/\(parent)/workspace/calc.py")
            #expect(parentCalc == Data("def add(a, b):\n    return a + b\n".utf8), "the parent layer is untouched")

            // The same files as a fresh clone of the commit, all the sandbox user's.
            let fresh = fixture.directory + "/fresh"
            _ = try fixture.git(["clone", "--quiet", "--branch", "feature", fixture.origin, fresh])
            let stacked = try Self.files(under: "\(layers)/\(parent)/workspace", delta: "\(layers)/\(child)/workspace")
            #expect(try Self.files(under: fresh) == stacked)
            for path in ["new", "new/dir", "new/dir/x.txt", "calc.py", ".git/index", ".git/refs/heads/feature"] {
                var st = stat()
                #expect(lstat("\(layers)/\(child)/workspace/\(path)", &st) == 0)
                #expect(st.st_uid == SandboxLayout.userID, "\(path) belongs to the sandbox user")
            }
            let listed = try await stack.sessions.sh(
                second.id, "cd /workspace && find . -path ./.git -prune -o \\( -type f -o -type l \\) -print | sort")
            let expected = try Self.files(under: fresh).keys.map { "./\($0)" }.sorted()
            #expect(listed.stdout.split(separator: "\n").map(String.init) == expected, "\(listed.stdout)")

            // In the sandbox: a clean status that rewrites no index, the new commit with its history, one reflog entry.
            let git = try await stack.sessions.sh(
                second.id,
                "cd /workspace && stat -c %Y.%i .git/index && git status --short && stat -c %Y.%i .git/index "
                    + "&& git log --format=%H -1 && git rev-list --count HEAD && git reflog | wc -l && cat new/dir/x.txt"
            )
            #expect(git.status.code == 0, "\(git.stderr)")
            let lines = git.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 6, "status prints nothing: \(lines)")
            #expect(lines.first == lines.dropFirst().first, "git status did not have to refresh the index")
            #expect(Array(lines.suffix(4)) == [tip, "2", "1", "x"], "\(lines)")
            let asked = try await stack.sessions.sh(
                second.id,
                "cd /workspace && GIT_TRACE_FSMONITOR=1 git status --porcelain 2>&1 | grep -c 'returned success'")
            #expect(asked.stdout == "1\n", "the new layer's git asks the hook: \(asked.stdout) \(asked.stderr)")
            let read = try await stack.sessions.sh(
                second.id,
                "cd /workspace && GIT_TRACE2_PERF=1 git status --porcelain 2>&1 >/dev/null "
                    + "| grep -o 'opendir:[0-9]*' && echo u > new/u.txt && git status --porcelain")
            #expect(read.stdout == "opendir:0\n?? new/u.txt\n", "untracked cache moved with the layer: \(read.stdout)")
            let old = try await stack.sessions.sh(first.id, "cd /workspace && git status --short && cat README.md")
            #expect(old.stdout == "# calc\n", "\(old.stdout) \(old.stderr)")

            // A file where the nearest layer has a directory: its files go, then the directory, then the file comes.
            _ = try fixture.git(["rm", "-q", "src/deep/dir/f.txt"])
            try fixture.write(["src/deep/dir": "now a file\n"])
            try fixture.commit("third")
            try fixture.git(["push", "--quiet", "origin", "HEAD:refs/heads/feature"])
            let third = try await stack.sessions.create(Self.spec(fixture))
            let swapped = try #require(stack.provider.sharedLayer(of: third.id))
            #expect(stack.provider.deltaBase(of: swapped) == parent)
            let seen = try await stack.sessions.sh(third.id, "cd /workspace && git status --short && cat src/deep/dir")
            #expect(seen.stdout == "now a file\n", "\(seen.stdout) \(seen.stderr)")
        }
    }

    /// Every new commit is a delta over the nearest whole layer, never over another delta. The base stays, for the
    /// cache and on the provider, as long as a delta over it is used; a restarted cache starts on a delta without
    /// sealing it again; a fork of a session on a delta holds the commit's whole tree and the session's change.
    @Test func deltasStayOverAWholeLayerThatLivesAsLongAsThey() async throws {
        try await Self.withCache("cache-chain") { stack, fixture, clones in
            let repos = RepositoryCacheService(sessions: stack.sessions)
            let first = try await stack.sessions.create(Self.spec(fixture))
            let whole = try #require(stack.provider.sharedLayer(of: first.id))
            try await stack.sessions.destroy(first.id)
            _ = try fixture.git(["rm", "-q", "src/deep/dir/f.txt"])
            var deltas: [String] = []
            var last: Session?
            for round in 1...2 {
                try fixture.write(["calc.py": "# round \(round)\n"])
                try fixture.commit("round \(round)")
                try fixture.git(["push", "--quiet", "origin", "HEAD:refs/heads/feature"])
                if let last { try await stack.sessions.destroy(last.id) }
                let session = try await stack.sessions.create(Self.spec(fixture))
                let layer = try #require(stack.provider.sharedLayer(of: session.id))
                #expect(stack.provider.deltaBase(of: layer) == whole, "round \(round) is a delta over the whole layer")
                deltas.append(layer)
                last = session
            }
            let session = try #require(last)
            let seen = try await stack.sessions.sh(
                session.id, "cd /workspace && git status --short && cat calc.py README.md && ls")
            #expect(seen.stdout == "# round 2\n# calc\nREADME.md\ncalc.py\n", "\(seen.stdout) \(seen.stderr)")

            // The unused delta is collected; the used one and its base stay, in the cache and on disk.
            let removed = try await repos.collect(limit: 0)
            #expect(removed == [deltas[0]], "\(removed)")
            #expect(clones.cache.layerIDs() == [whole, deltas[1]])
            let listed = try #require(try await repos.list(by: .system).first)
            #expect(Set(listed.layers.filter(\.inUse).map(\.id)) == [whole, deltas[1]], "\(listed.layers)")
            await stack.provider.removeLayer(whole)
            #expect(await stack.provider.layers().contains(whole), "the provider keeps a base under a delta")

            // A restarted server's cache starts the next session on the delta as it is.
            let restarted = try RepositoryClones(root: stack.dataDirectory + "/repos")
            await stack.sessions.setRepositories(restarted)
            let again = try await stack.sessions.create(Self.spec(fixture))
            #expect(stack.provider.sharedLayer(of: again.id) == deltas[1])
            #expect(try await Self.cloneEvent(stack, again.id)["sealed"] == .bool(false))

            // A session whose file guardrails mount under /workspace gets a copy: the base's files, then the delta's.
            let policy = PolicyText(
                text: "version: 1\nguardrails:\n  files:\n    read_only: [.github/workflows]\n", file: "files.yml")
            let guarded = try await stack.sessions.create(Self.spec(fixture), policy: policy)
            #expect(stack.provider.sharedLayer(of: guarded.id) == nil)
            let copied = try await stack.sessions.sh(
                guarded.id, "cd /workspace && git -c core.fsmonitor=false status --short && cat calc.py && ls")
            #expect(copied.stdout == "# round 2\nREADME.md\ncalc.py\n", "\(copied.stdout) \(copied.stderr)")

            // A fork's snapshot stacks the base, the delta and the session's change.
            _ = try await stack.sessions.sh(again.id, "cd /workspace && echo mine > mine.txt && rm README.md")
            let child = try #require(try await stack.sessions.fork(again.id, count: 1).first)
            let forked = try await stack.sessions.sh(
                child.id, "cd /workspace && git -c core.fsmonitor=false status --short && cat calc.py && ls")
            #expect(forked.stdout == " D README.md\n?? mine.txt\n# round 2\ncalc.py\nmine.txt\n", "\(forked.stdout)")

            for id in [session.id, again.id, guarded.id, child.id] { try await stack.sessions.destroy(id) }
            let rest = try await repos.collect(limit: 0)
            #expect(rest == [deltas[1], whole, fixture.origin], "the delta, its base, then the mirror: \(rest)")
            #expect(await stack.provider.layers().filter { $0.hasPrefix("repo") }.isEmpty)
        }
    }

    /// git in a session asks the layer's fsmonitor hook what changed instead of stating every file, and still sees
    /// every kind of change: an edit, a new file, a deleted directory, a file added and then deleted — as git
    /// without the hook does.
    @Test func gitInASessionAsksTheHookAndSeesEveryChange() async throws {
        try await Self.withCache("cache-fsmonitor") { stack, fixture, _ in
            let s = try await stack.sessions.create(Self.spec(fixture))
            let untouched = try await stack.sessions.sh(
                s.id, "cd /workspace && GIT_TRACE_FSMONITOR=1 git status --porcelain 2>&1 | grep -c 'returned success'")
            #expect(untouched.stdout == "1\n", "the hook answered: \(untouched.stdout) \(untouched.stderr)")
            // The layer's untracked cache is git's own in the sandbox: no directory is read for untracked files.
            let read = try await stack.sessions.sh(
                s.id,
                "cd /workspace && GIT_TRACE2_PERF=1 git status --porcelain 2>&1 >/dev/null "
                    + "| grep -o 'opendir:[0-9]*'")
            #expect(read.stdout == "opendir:0\n", "\(read.stdout) \(read.stderr)")
            // Git's own writes in `.git` (the index lock each status takes) are not changes: the hook still answers
            // that nothing changed, by the shell alone, keeping no state.
            let hook = try await stack.sessions.sh(
                s.id,
                "cd /workspace && test -d /.paddock/workspace-changes/.git && echo git-wrote && "
                    + ".git/paddock-fsmonitor 2 paddock | tr '\\0' '\\n' && ls .git | grep -c fsmonitor-seen || true")
            #expect(hook.stdout == "git-wrote\npaddock\n0\n", "\(hook.stdout) \(hook.stderr)")
            let changed = try await stack.sessions.sh(
                s.id,
                "cd /workspace && echo more >> calc.py && rm -rf src && echo n > new.txt && git add new.txt && "
                    + "echo t > gone.txt && git add gone.txt && git status --porcelain >/dev/null && rm gone.txt && "
                    + "echo u > u.txt && mkdir -p brand/new && echo b > brand/new/b.txt && "
                    + "git status --porcelain && echo -- && git -c core.fsmonitor=false status --porcelain")
            #expect(changed.status.code == 0, "\(changed.stderr)")
            let halves = changed.stdout.components(separatedBy: "--\n")
            #expect(halves.count == 2 && halves[0] == halves[1], "with and without the hook: \(changed.stdout)")
            #expect(
                halves[0] == " M calc.py\nAD gone.txt\nA  new.txt\n D src/deep/dir/f.txt\n?? brand/\n?? u.txt\n",
                "\(halves[0])")
            // A file added in a directory git already cached is seen by the next status too.
            let later = try await stack.sessions.sh(
                s.id, "cd /workspace && echo l > brand/l.txt && echo r > r.txt && git status --porcelain -- brand r.txt"
            )
            #expect(later.stdout == "?? brand/\n?? r.txt\n", "\(later.stdout) \(later.stderr)")
        }
    }

    /// A push announced by GitHub fetches the mirror within the refresh window and seals the pushed branch's new
    /// commit from the branch's layer, so the next session starts on it without fetching or sealing.
    @Test func aPushSealsThePushedBranchsNewCommit() async throws {
        try await Self.withCache("cache-push", refresh: .seconds(3600)) { stack, fixture, clones in
            let first = try await stack.sessions.create(Self.spec(fixture))
            try fixture.write(["calc.py": "def add(a, b):\n    return b + a\n"])
            try fixture.commit("second")
            try fixture.git(["push", "--quiet", "origin", "HEAD:refs/heads/feature"])
            let tip = try #require(fixture.originBranch("feature"))
            // "owner/name" as GitHub would say: the origin's last two path components, without ".git".
            let name = String(fixture.origin.split(separator: "/").suffix(2).joined(separator: "/").dropLast(4))
            let repos = RepositoryCacheService(sessions: stack.sessions)
            #expect(try await repos.receivePush(repository: "other/repo", branch: "feature").isEmpty)
            #expect(try await repos.receivePush(repository: name, branch: "feature") == [fixture.origin])
            #expect(clones.cache.layerIDs().count == 2)
            let second = try await stack.sessions.create(Self.spec(fixture))
            #expect(second.spec.repository?.base == tip && first.spec.repository?.base != tip)
            let event = try await Self.cloneEvent(stack, second.id)
            #expect(event["fetched"] == .bool(false) && event["sealed"] == .bool(false), "\(event)")
            let seen = try await stack.sessions.sh(second.id, "cd /workspace && git status --short && cat calc.py")
            #expect(seen.stdout == "def add(a, b):\n    return b + a\n", "\(seen.stdout) \(seen.stderr)")
        }
    }

    /// The server keeps a branch sessions used ready (`--repo-prepare`): when it moves, its new commit is fetched
    /// and sealed before the next session, which then starts on it without fetching or sealing; a prepared layer
    /// does not count as a use.
    @Test func aRecentlyUsedBranchIsPreparedWhenItMoves() async throws {
        try await Self.withCache("cache-prepare", refresh: .seconds(3600)) { stack, fixture, clones in
            let repos = RepositoryCacheService(sessions: stack.sessions)
            let first = try await stack.sessions.create(Self.spec(fixture))
            #expect(await repos.prepareRecentBranches(usedWithin: .seconds(3600)).isEmpty, "nothing moved")
            try fixture.write(["calc.py": "def add(a, b):\n    return b + a\n"])
            try fixture.commit("second")
            try fixture.git(["push", "--quiet", "origin", "HEAD:refs/heads/feature"])
            let tip = try #require(fixture.originBranch("feature"))
            #expect(await repos.prepareRecentBranches(usedWithin: .zero).isEmpty, "no branch used that recently")
            let prepared = await repos.prepareRecentBranches(usedWithin: .seconds(3600))
            #expect(prepared.count == 1 && clones.cache.layerIDs().count == 2, "\(prepared)")
            let listed = try #require(try await repos.list(by: .system).first)
            let unused = try #require(listed.layers.first { prepared.contains($0.id) })
            #expect(unused.usedAt < listed.layers.map(\.usedAt).max() ?? .distantFuture, "not counted as used")

            let second = try await stack.sessions.create(Self.spec(fixture))
            #expect(second.spec.repository?.base == tip && first.spec.repository?.base != tip)
            let event = try await Self.cloneEvent(stack, second.id)
            #expect(event["fetched"] == .bool(false) && event["sealed"] == .bool(false), "\(event)")
        }
    }

    /// The files of a delta layer's checkout stacked on its base's, outside `.git`: the delta's files replace the
    /// base's, its whiteouts delete them.
    static func files(under base: String, delta: String) throws -> [String: Data] {
        var out = try files(under: base)
        for path in try FileManager.default.subpathsOfDirectory(atPath: delta).sorted()
        where path != ".git" && !path.hasPrefix(".git/") {
            var st = stat()
            guard lstat("\(delta)/\(path)", &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFCHR: out = out.filter { $0.key != path && !$0.key.hasPrefix(path + "/") }
            case S_IFREG: out[path] = FileManager.default.contents(atPath: "\(delta)/\(path)")
            case S_IFLNK: out[path] = try link(at: "\(delta)/\(path)")
            default: continue
            }
        }
        return out
    }

    /// The files of a checkout outside `.git`, by path; a symbolic link as "-> its target".
    static func files(under root: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: root)
        where path != ".git" && !path.hasPrefix(".git/") {
            var st = stat()
            guard lstat("\(root)/\(path)", &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFLNK: out[path] = try link(at: "\(root)/\(path)")
            case S_IFDIR: continue
            default: out[path] = FileManager.default.contents(atPath: "\(root)/\(path)")
            }
        }
        return out
    }

    private static func link(at path: String) throws -> Data {
        Data("-> \(try FileManager.default.destinationOfSymbolicLink(atPath: path))".utf8)
    }

    /// Within the refresh window, sessions starting together fetch once and seal once; a new cache over the same
    /// directory (a restarted server) reuses both.
    @Test func concurrentSessionsFetchOnceAndARestartKeepsTheCache() async throws {
        try await Self.withCache("cache-once", refresh: .seconds(3600)) { stack, fixture, _ in
            let spec = Self.spec(fixture)
            let sessions = stack.sessions
            // Concurrent first starts on an unprepared host base race in the provider (not this test's subject).
            try await stack.provider.prepareBase("host") { _ in }
            let ids = try await withThrowingTaskGroup(of: SessionID.self) { group in
                for _ in 0..<3 { group.addTask { try await sessions.create(spec).id } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            var fetched = 0
            var sealed = 0
            for id in ids {
                let event = try await Self.cloneEvent(stack, id)
                if event["fetched"] == .bool(true) { fetched += 1 }
                if event["sealed"] == .bool(true) { sealed += 1 }
            }
            #expect(fetched == 1 && sealed == 1, "fetched \(fetched), sealed \(sealed)")

            let restarted = try RepositoryClones(root: stack.dataDirectory + "/repos", refreshWindow: .seconds(3600))
            await stack.sessions.setRepositories(restarted)
            let after = try await stack.sessions.create(spec)
            let event = try await Self.cloneEvent(stack, after.id)
            #expect(event["fetched"] == .bool(false) && event["sealed"] == .bool(false), "\(event)")
        }
    }

    /// Collection under a cap goes least recently used first and never takes a layer a live session is on.
    @Test func collectionNeverRemovesALayerInUse() async throws {
        try await Self.withCache("cache-gc") { stack, fixture, clones in
            let repos = RepositoryCacheService(sessions: stack.sessions)
            let old = try await stack.sessions.create(Self.spec(fixture))
            try fixture.write(["README.md": "# calc, again\n"])
            try fixture.commit("second")
            try fixture.git(["push", "--quiet", "origin", "HEAD:refs/heads/feature"])
            let new = try await stack.sessions.create(Self.spec(fixture))
            try await stack.sessions.destroy(new.id)
            let listed = try #require(try await repos.list(by: .system).first)
            #expect(listed.url == fixture.origin && listed.layers.count == 2 && listed.bytes > 0)
            #expect(listed.layers.filter(\.inUse).count == 1, "\(listed.layers)")

            let removed = try await repos.collect(limit: 0)
            let kept = try #require(stack.provider.sharedLayer(of: old.id))
            #expect(removed.count == 1 && !removed.contains(kept), "\(removed)")
            #expect(clones.cache.layerIDs() == [kept])
            #expect(await stack.provider.layers().contains(kept))
            let still = try await stack.sessions.sh(old.id, "cat /workspace/README.md")
            #expect(still.stdout == "# calc\n")

            try await stack.sessions.destroy(old.id)
            let rest = try await repos.collect(limit: 0)
            #expect(rest == [kept, fixture.origin], "the layer, then the mirror left without layers: \(rest)")
            #expect(try await repos.list(by: .system).isEmpty)
        }
    }

    /// The reaper collects unused layers while sessions start: a commit's layer being written (its `.staging-`
    /// directory) is the cache's from the start, never collected from under the checkout.
    @Test func aLayerBeingSealedIsNeverCollected() async throws {
        var files = Self.files
        for i in 0..<2000 { files["many/\(i % 40)/f\(i).txt"] = String(repeating: "line \(i)\n", count: 20) }
        let fixture = try GitFixture.make("cache-sealing", files: files)
        defer { fixture.remove() }
        try await withTestStack("cache-sealing") { stack in
            let clones = try RepositoryClones(root: stack.dataDirectory + "/repos")
            await stack.sessions.setRepositories(clones)
            let sealing = Task { try await stack.sessions.create(Self.spec(fixture)) }
            // Collect for as long as the session is starting, as a busy reaper would.
            let collector = Task {
                var passes = 0
                while !Task.isCancelled {
                    await stack.sessions.collectLayers()
                    passes += 1
                    await Task.yield()
                }
                return passes
            }
            let session = try await sealing.value
            collector.cancel()
            #expect(await collector.value > 0)
            let count = try await stack.sessions.sh(session.id, "ls many/*/ | grep -c txt; git status --short | wc -l")
            #expect(count.stdout == "2000\n0\n", "\(count.stdout) \(count.stderr)")
            try await stack.sessions.destroy(session.id)
        }
    }

    @Test func lfsPointersAreNamed() async throws {
        var files = Self.files
        files[".gitattributes"] = "*.bin filter=lfs diff=lfs merge=lfs -text\n"
        let fixture = try GitFixture.make("cache-lfs", files: files)
        defer { fixture.remove() }
        try await withTestStack("cache-lfs") { stack in
            let s = try await stack.sessions.create(Self.spec(fixture))
            let event = try await Self.cloneEvent(stack, s.id)
            guard case .string(let note) = event["lfs"] else {
                Issue.record("no lfs note in \(event)")
                return
            }
            #expect(note.contains("pointer files"), "\(note)")
        }
    }

    @Test func anUnreachableOriginOrMissingBranchLeavesNoLayer() async throws {
        try await Self.withCache("cache-fail") { stack, fixture, clones in
            var spec = SessionSpec()
            spec.repository = SessionRepository(url: fixture.directory + "/nowhere.git", branch: "main")
            let unreachable = await #expect(throws: PaddockError.self) { _ = try await stack.sessions.create(spec) }
            #expect(unreachable?.code == .invalidArgument && unreachable?.message.contains("cannot clone") == true)
            let missing = await #expect(throws: PaddockError.self) {
                _ = try await stack.sessions.create(Self.spec(fixture, branch: "nope"))
            }
            #expect(missing?.message.contains("no branch 'nope'") == true, "\(missing?.message ?? "")")
            #expect(clones.cache.layerIDs().isEmpty)
            let cached = try FileManager.default.contentsOfDirectory(atPath: clones.cache.root)
            #expect(cached.count == 1, "only the reachable origin's mirror: \(cached)")
            #expect(try await stack.sessions.list(includeEnded: true).isEmpty)
            let layers = await stack.provider.layers()
            #expect(layers.isEmpty, "\(layers)")
        }
    }
}
