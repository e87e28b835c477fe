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

    public init(root: String, branchPrefix: String = "paddock/") throws {
        try SessionRepository.validate(branch: branchPrefix + "x", what: "the submit branch prefix")
        self.root = root
        self.branchPrefix = branchPrefix
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw PaddockError.unavailable("cannot create the repository directory \(root)", underlying: error)
        }
        chmod(root, 0o700)
        // Scratch directories of operations a previous server did not finish.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        where name.hasPrefix(".staging-") || name.hasPrefix(".export-") || name.hasPrefix(".merge-") {
            try? FileManager.default.removeItem(atPath: "\(root)/\(name)")
        }
    }

    /// A clone made before its session exists; `adopt` gives it to the session, `discard` removes it.
    struct Staged: Sendable {
        var directory: String
        var base: String
        /// The repository's runtime.yml at the base commit, if it has one.
        var runtimeYAML: String?
    }

    func directory(of session: SessionID) -> String { "\(root)/\(session.rawValue)" }

    /// Clones `repository` and checks out its branch; nothing is left behind when that fails.
    func stage(_ repository: SessionRepository) async throws -> Staged {
        try repository.validate()
        let directory = "\(root)/.staging-\(UInt64.random(in: 0...UInt64.max))"
        do {
            let clone = try await HostGit(nil).run(
                ["clone", "--quiet", "--no-tags", "--branch", repository.branch, "--", repository.url, directory],
                trust: .remote)
            guard clone.succeeded else {
                let problem = clone.problem
                if problem.contains("Remote branch") || problem.contains("not found in upstream") {
                    throw PaddockError.invalidArgument(
                        "repository \(repository.url) has no branch '\(repository.branch)'; pass --branch with one "
                            + "of its branches")
                }
                throw PaddockError.invalidArgument(
                    "cannot clone \(repository.url): \(problem); check the URL or path and that the server's host "
                        + "can read it")
            }
            let git = HostGit(directory)
            let base = try await git.check(["rev-parse", "--verify", "HEAD^{commit}"], trust: .content, "reading HEAD")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            var yaml: String?
            let show = try await git.run(["cat-file", "-p", "\(base):runtime.yml"], trust: .content, limit: 1 << 20)
            if show.succeeded { yaml = show.stdout }
            return Staged(directory: directory, base: base, runtimeYAML: yaml)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    func adopt(_ staged: Staged, session: SessionID) throws {
        do {
            try FileManager.default.moveItem(atPath: staged.directory, toPath: directory(of: session))
        } catch {
            throw PaddockError.internal("keeping the repository clone failed", underlying: error)
        }
    }

    /// Makes sure the session has its clone at its base commit: a fork's children, for example, start without
    /// one. Cloned again from the origin (with the host's credentials) when missing.
    func ensure(_ session: SessionID, _ repository: SessionRepository) async throws {
        guard !FileManager.default.fileExists(atPath: directory(of: session) + "/.git") else { return }
        let staged = try await stage(repository)
        do {
            if staged.base != repository.base {
                try await HostGit(staged.directory).check(
                    ["reset", "--quiet", "--hard", repository.base], trust: .content,
                    "the base commit \(repository.base.prefix(12)) is no longer on \(repository.branch)")
            }
            try adopt(staged, session: session)
        } catch {
            discard(staged)
            throw error
        }
    }

    func discard(_ staged: Staged) { try? FileManager.default.removeItem(atPath: staged.directory) }

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
