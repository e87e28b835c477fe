import Foundation
import PaddockCore

/// The server's own clones of session repositories, one directory per session under `root`. They are made with
/// the host's git credentials and never leave the host; the sandbox gets a copy without remotes (`export`).
public struct RepositoryClones: Sendable {
    /// Where clones live (`<data-dir>/repos`).
    public let root: String
    /// Prefix of the branch a submit pushes (`paddock/<session>`).
    public let branchPrefix: String
    /// Sessions whose clone is in use (a diff, a submit): one operation per clone at a time.
    let locks = ExclusiveKeys<SessionID>()

    static func busy(_ id: SessionID) -> PaddockError {
        .conflict("a diff or submit of session \(id) is already running; try again when it has finished")
    }
    /// Opens pull requests for reviews whose origin is on GitHub; nil opens none.
    public var github: GitHubPullRequests?
    /// The mirrors and commit layers sessions start from (`<root>/repo-cache`).
    public let cache: RepositoryCache
    /// The cache is brought under this many bytes whenever it grows (a fetch, a new layer); nil: no cap.
    public var cacheLimit: UInt64?

    /// `refreshWindow`: a mirror fetched less than this long ago is not fetched again for a new session.
    public init(root: String, branchPrefix: String = "paddock/", refreshWindow: Duration = .zero) throws {
        try SessionRepository.validate(branch: branchPrefix + "x", what: "the submit branch prefix")
        self.root = root
        self.branchPrefix = branchPrefix
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw PaddockError.unavailable("cannot create the repository directory \(root)", underlying: error)
        }
        chmod(root, 0o700)
        // Not a session id (it has a dash), so `prune` never takes it for a clone.
        cache = try RepositoryCache(root: root + "/repo-cache", refreshWindow: refreshWindow)
        // Scratch directories of operations a previous server did not finish.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        where name.hasPrefix(".staging-") || name.hasPrefix(".export-") || name.hasPrefix(".merge-") {
            try? FileManager.default.removeItem(atPath: "\(root)/\(name)")
        }
    }

    func directory(of session: SessionID) -> String { "\(root)/\(session.rawValue)" }

    /// Makes sure the session has the server's clone at its base commit (made on first use — a diff, a submit —
    /// from the cache's mirror: its objects are linked, not copied, and nothing is checked out, since a diff
    /// replaces the files with the sandbox's anyway). Its `origin` is the repository's URL, where a submit pushes.
    func ensure(_ session: SessionID, _ repository: SessionRepository) async throws {
        guard !FileManager.default.fileExists(atPath: directory(of: session) + "/.git") else { return }
        try repository.validate()
        let mirror = try await cache.mirror(for: repository.url)
        let staging = "\(root)/.staging-\(UInt64.random(in: 0...UInt64.max))"
        do {
            try await HostGit(nil).check(
                [
                    "clone", "--quiet", "--no-checkout", "--no-tags", "--branch", repository.branch, "--", mirror,
                    staging,
                ],
                trust: .content, "cloning the cached repository")
            let git = HostGit(staging)
            try await git.check(["remote", "set-url", "origin", repository.url], trust: .content, "setting the origin")
            let base = try await git.run(["cat-file", "-e", "\(repository.base)^{commit}"], trust: .content)
            guard base.succeeded else {
                throw PaddockError.conflict(
                    "the base commit \(repository.base.prefix(12)) is no longer in \(repository.url); start a new "
                        + "session on \(repository.branch)")
            }
            try await git.check(["reset", "--quiet", repository.base], trust: .content, "resetting to the base commit")
            try FileManager.default.moveItem(atPath: staging, toPath: directory(of: session))
        } catch {
            cache.removeBestEffort(staging)
            throw error
        }
    }

    /// Removes the clones of sessions not in `live` (after a restart: sessions that ended while the server was
    /// down). A live session without a clone gets one again on first use (`ensure`).
    func prune(keeping live: Set<SessionID>) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where !name.hasPrefix(".") {
            guard let id = SessionID(rawValue: name), !live.contains(id) else { continue }
            try? FileManager.default.removeItem(atPath: "\(root)/\(name)")
        }
    }

    /// Removes a session's clone; removing a missing one succeeds.
    func remove(_ session: SessionID) { try? FileManager.default.removeItem(atPath: directory(of: session)) }

    /// A copy of the session's branch for the sandbox: the files and a `.git` with the history but no remote,
    /// no credentials, no hooks. The caller removes the directory.
    func export(_ session: SessionID, branch: String) async throws -> String {
        let target = "\(root)/.export-\(session.rawValue)-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try await HostGit(nil).check(
                [
                    "clone", "--quiet", "--no-local", "--no-hardlinks", "--single-branch", "--branch", branch, "--",
                    directory(of: session), target,
                ], trust: .content, "copying the repository for the sandbox")
            let git = HostGit(target)
            try await git.check(["remote", "remove", "origin"], trust: .content, "removing the remote")
            try? FileManager.default.removeItem(atPath: target + "/.git/hooks")
            return target
        } catch {
            try? FileManager.default.removeItem(atPath: target)
            throw error
        }
    }
}
