import Foundation
import PaddockCore
import PaddockSandbox
import PaddockStore

extension ChangeService {
    /// How long one `checks:` command may run.
    static let checkTimeout: Duration = .seconds(600)
    /// How much of a check's output the report keeps (its end).
    static let checkOutputLimit = 16 << 10

    /// Commits the session's change on its own branch and pushes it from the host to the repository's origin,
    /// then opens a review. Before anything leaves, all of these must pass, and the report says which did not:
    /// the `changes:` guardrails (max lines; the pushed branch must not be protected), a secret scan of the diff
    /// (vault values the session could reach and common key formats), and every `checks:` command, run in the
    /// sandbox.
    /// A change touching more files is summarised by `submit.diff`; only this many get a `file.change` event.
    static let auditedFilesPerSubmit = 500

    public func submit(_ id: SessionID, message: String?, branch: String?, by caller: Caller) async throws
        -> SubmitOutcome
    {
        let (session, provider) = try await sessions.runningProvider(id, for: caller, needs: .submit)
        let user = caller.user
        guard let repository = session.spec.repository, let clones = await sessions.repositories else {
            throw PaddockError.invalidArgument(
                "session \(id) has no repository; create it with `paddock session create --repo URL --branch B`")
        }
        let pushed = branch ?? "\(clones.branchPrefix)\(id.rawValue)"
        try SessionRepository.validate(branch: pushed, what: "the submit branch")
        let message =
            (message?.trimmingCharacters(in: .whitespacesAndNewlines)).flatMap { $0.isEmpty ? nil : $0 }
            ?? "Changes from Paddock session \(id)"
        guard message.utf8.count <= 64 << 10 else {
            throw PaddockError.invalidArgument("the commit message is longer than 64 KiB; shorten it")
        }
        try clones.locks.take(id, busy: RepositoryClones.busy(id))
        defer { clones.locks.release(id) }

        let diff = try await stagedDiff(session, provider, clones, repository, submitBranch: pushed)
        let git = HostGit(clones.directory(of: id))
        let secrets = try await reachableSecrets(session)
        let patch = try await git.check(
            ["diff", "--cached", "--no-renames", "--no-ext-diff", "--no-textconv", "--no-color", repository.base],
            trust: .content, "diffing")
        try await sessions.record(
            id, "submit.diff",
            [
                "files": .int(Int64(diff.files.count)), "lines": .int(Int64(diff.linesChanged)),
                "branch": .string(pushed), "generated": .strings(Array((diff.generated ?? []).prefix(100))),
                "excluded": .strings(Array((diff.excluded ?? []).prefix(100))),
            ], by: caller)
        // Each file of the change that is about to leave, as the audit trail keeps file changes.
        for file in diff.files.prefix(Self.auditedFilesPerSubmit) {
            try await sessions.record(
                id, "file.change",
                [
                    "path": .string(file.path), "status": .string(file.status), "bytes": .int(Int64(file.bytes)),
                    "added": .int(Int64(file.linesAdded)), "removed": .int(Int64(file.linesRemoved)),
                ], by: caller)
        }
        var problems: [String] = []
        if diff.files.isEmpty {
            problems.append("the session changed nothing against \(repository.branch); there is nothing to submit")
        }
        problems += diff.violations
        try await sessions.record(id, "submit.guardrails", ["violations": .strings(diff.violations)], by: caller)

        let findings = try SecretScanner(values: secrets).scan(patch: patch)
        problems += findings.map(\.problem)
        try await sessions.record(
            id, "submit.secret_scan",
            [
                "findings": .strings(
                    findings.map { "\($0.kind)\($0.name.map { " \($0)" } ?? ""): \($0.file):\($0.line)" })
            ], by: caller)

        var checks: [CheckResult] = []
        for command in SessionService.checks(session.policy) {
            let result = try await runCheck(id, command, by: caller)
            checks.append(result)
            try await sessions.record(
                id, "submit.check",
                ["command": .string(command), "exit_code": .int(Int64(result.exitCode)), "ms": .int(result.ms)],
                by: caller)
            if !result.passed {
                problems.append(
                    "check `\(command)` failed with exit code \(result.exitCode); fix the change and submit again")
            }
        }
        guard problems.isEmpty else {
            try await sessions.record(id, "submit.blocked", ["problems": .int(Int64(problems.count))], by: caller)
            return SubmitOutcome(
                report: SubmitReport(
                    submitted: false, problems: problems, diff: diff, checks: checks, secrets: findings),
                review: nil)
        }

        // One commit on top of the base, on the submit branch; a resubmit replaces the previous one.
        try await git.check(["symbolic-ref", "HEAD", "refs/heads/\(pushed)"], trust: .content, "switching branch")
        try await git.check(["reset", "--soft", repository.base], trust: .content, "resetting to the base")
        let author = ["-c", "user.name=\(user)", "-c", "user.email=\(user)@paddock.invalid"]
        try await git.check(
            HostGit.identity + author + ["commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message],
            trust: .content, "committing the change")
        let commit = try await git.check(["rev-parse", "HEAD"], trust: .content, "reading the commit")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try await sessions.record(
            id, "submit.commit", ["commit": .string(commit), "branch": .string(pushed)], by: caller)
        let push = try await git.run(
            ["push", "--quiet", "--force", "origin", "\(commit):refs/heads/\(pushed)"], trust: .remote)
        guard push.succeeded else {
            try await sessions.record(id, "submit.push", ["ok": .bool(false), "branch": .string(pushed)], by: caller)
            throw PaddockError.unavailable(
                "pushing \(pushed) to \(repository.url) failed: \(push.problem); check the server host can push there")
        }
        try await sessions.record(
            id, "submit.push", ["ok": .bool(true), "branch": .string(pushed), "commit": .string(commit)], by: caller)

        let report = SubmitReport(submitted: true, problems: [], diff: diff, checks: checks, secrets: [])
        guard let reviews = sessions.store as? any ReviewStore else {
            throw PaddockError.unavailable("this server's store keeps no reviews")
        }
        // Kept with the review, with the secret values the scan knows blanked out of the patch.
        var stored = report
        stored.diff.patch =
            patch.utf8.count > Self.patchLimit ? diff.patch : SecretScanner.redact(patch, values: secrets)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        var review = Review(
            id: Review.makeID(), session: id, team: session.team, repository: repository.url,
            targetBranch: repository.branch, branch: pushed, base: repository.base, commit: commit, message: message,
            linesChanged: diff.linesChanged, filesChanged: diff.files.count,
            report: String(decoding: try encoder.encode(stored), as: UTF8.self), createdBy: user,
            createdAt: sessions.clock())
        if let existing = repository.pullRequest {
            // The session works on an open pull request's head branch: approving the review merges the change
            // into that branch, which updates that pull request; a second one would only split the discussion.
            review.pullRequest = existing
        } else if let github = clones.github, let (owner, name) = github.repository(of: repository.url) {
            await openPullRequest(github, &review, owner: owner, name: name, by: caller)
        }
        try await reviews.insertReview(review)
        try await sessions.record(
            id, "review.create",
            ["review": .string(review.id), "commit": .string(commit), "pull_request": .optional(review.pullRequest)],
            by: caller)
        return SubmitOutcome(report: report, review: review)
    }

    /// Every vault secret the session could reach: the ones it was given and every secret of its team and of the
    /// default team. Read here, on the server; only their names ever leave this function in a report.
    func reachableSecrets(_ session: Session) async throws -> [(name: String, value: String)] {
        guard let vault = await sessions.network?.vault else { return [] }
        var out: [(name: String, value: String)] = []
        var seen: Set<String> = []
        var wanted: [(String, String?)] = (session.spec.secrets ?? []).map { ($0, nil) }
        for team in Set([session.team, nil]) {
            for info in try await vault.list(team: team) { wanted.append((info.name, team)) }
        }
        for (name, team) in wanted where seen.insert("\(team ?? "")/\(name)").inserted {
            // A secret that cannot be opened cannot be looked for: the scan, and so the submit, fails closed.
            do { out.append((name, try await vault.open(name: name, team: team).value)) } catch {
                throw PaddockError(
                    .unavailable,
                    "the secret scan cannot read secret '\(name)' from the vault, so it cannot rule out that the change "
                        + "leaks it; nothing was pushed — check the vault key (`paddock doctor`) or remove the secret",
                    underlying: error)
            }
        }
        return out
    }

    /// Runs one check as the sandbox user in /workspace, under the session's guardrails and in its audit trail.
    private func runCheck(_ id: SessionID, _ command: String, by caller: Caller) async throws -> CheckResult {
        let start = ContinuousClock.now
        let handle = try await sessions.exec(
            id, SessionCommand(["/bin/sh", "-c", command], cwd: SandboxLayout.workspace), by: caller)
        let limit = Self.checkOutputLimit
        let outcome = try await withThrowingTaskGroup(of: (output: [UInt8], status: ExitStatus?)?.self) { group in
            group.addTask {
                try await Task.sleep(for: Self.checkTimeout)
                return nil
            }
            group.addTask {
                var collected: [UInt8] = []
                var status: ExitStatus?
                for try await event in handle.events {
                    switch event {
                    case .stdout(let b), .stderr(let b):
                        collected += b
                        if collected.count > 2 * limit { collected.removeFirst(collected.count - limit) }
                    case .exited(let s): status = s
                    case .started: break
                    }
                }
                return (collected, status)
            }
            let first = try await group.next() ?? nil
            if first == nil { await handle.cancel() }
            group.cancelAll()
            return first
        }
        let timedOut = outcome == nil
        let output = outcome?.output ?? []
        let status = outcome?.status
        let tail = output.count > Self.checkOutputLimit ? Array(output.suffix(Self.checkOutputLimit)) : output
        let code = timedOut ? 124 : status?.code ?? -1
        return CheckResult(
            command: command, exitCode: code, passed: code == 0,
            ms: Int64(((ContinuousClock.now - start) / .milliseconds(1)).rounded()),
            output: String(decoding: tail, as: UTF8.self)
                + (timedOut ? "\n[paddock: stopped after \(Self.checkTimeout)]" : ""))
    }

    /// Opens the review's pull request. The branch is already pushed, so a failure here does not undo the submit:
    /// the review says what went wrong.
    private func openPullRequest(
        _ github: GitHubPullRequests, _ review: inout Review, owner: String, name: String, by caller: Caller
    ) async {
        do {
            guard let vault = await sessions.network?.vault else {
                throw PaddockError.unavailable("this server has no secrets vault for the GitHub token")
            }
            let token = try await vault.open(name: github.tokenSecret, team: nil).value
            review.pullRequest = try await github.open(review, owner: owner, name: name, token: token)
            try await sessions.record(
                review.session, "review.pull_request", ["url": .optional(review.pullRequest)], by: caller)
        } catch {
            let e = PaddockError.wrap(error, "opening the pull request failed")
            review.problem = "the pull request was not opened: \(e.message)"
            do {
                try await sessions.record(
                    review.session, "review.pull_request_failed", ["problem": .string(e.message)], by: caller)
            } catch {
                // The review itself says what went wrong; the trail's failure goes to the server log.
                sessions.logger.error(
                    "could not record a failed pull request",
                    metadata: ["review.id": "\(review.id)", "error": "\(error)"])
            }
        }
    }
}
