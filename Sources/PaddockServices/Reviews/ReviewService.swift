import Foundation
import PaddockCore
import PaddockStore

/// The review queue: a submitted change waits here until someone with `approve` on its team approves it
/// (which merges it into the target branch on the origin, host-side), rejects it, or retries a failed merge.
/// Every decision is authorized here and recorded in the session's audit trail, naming who decided.
public struct ReviewService: Sendable {
    let sessions: SessionService

    public init(sessions: SessionService) { self.sessions = sessions }

    var reviewStore: any ReviewStore {
        get throws {
            guard let reviews = sessions.store as? any ReviewStore else {
                throw PaddockError.unavailable("this server's store keeps no reviews")
            }
            return reviews
        }
    }

    /// Newest first; only open and approved ones unless `all`.
    public func list(session: SessionID? = nil, all: Bool = false, for caller: Caller) async throws -> [Review] {
        try await reviewStore.reviews(session: session, states: all ? nil : [.open, .approved]).filter {
            caller.principal?.canSee(team: $0.team) ?? true
        }
    }

    public func get(_ id: String) async throws -> Review {
        guard Review.isValidID(id), let review = try await reviewStore.review(id: id) else {
            throw PaddockError.notFound("review \(id) does not exist; `paddock reviews list` shows the open ones")
        }
        return review
    }

    /// The review, if the caller may do `permission` on its session's team; other teams' reviews are not found.
    public func get(_ id: String, for caller: Caller, needs permission: Permission) async throws -> Review {
        let review = try await get(id)
        try caller.authorize(
            permission, team: review.team,
            hidden: PaddockError.notFound("review \(id) does not exist; `paddock reviews list` shows the open ones"))
        return review
    }

    /// The review with its report, the session's runs and its audit timeline.
    public func detail(_ id: String, for caller: Caller) async throws -> ReviewDetail {
        let review = try await get(id, for: caller, needs: .read)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let report: SubmitReport?
        do { report = try decoder.decode(SubmitReport.self, from: Data(review.report.utf8)) } catch {
            // The review itself still shows; only its stored report is missing from the detail.
            sessions.logger.warning(
                "a review's stored report cannot be read", metadata: ["review.id": "\(id)", "error": "\(error)"])
            report = nil
        }
        let events = try await sessions.audit?.events(session: review.session) ?? []
        return ReviewDetail(review: review, report: report, runs: try await runRecords(review.session), audit: events)
    }

    /// The session's agent runs for a review (newest first): prompt, agent, status, usage and cost, commands,
    /// refused commands, files changed and final message of each, as the runs API gives them.
    func runRecords(_ session: SessionID) async throws -> [Run] {
        guard let runs = sessions.store as? any RunStore else { return [] }
        return try await runs.runs(session: session, team: nil, since: nil, limit: 100)
    }

    /// Approves an open review and merges it into its target branch on the origin.
    public func approve(_ id: String, note: String?, by caller: Caller) async throws -> Review {
        var review = try await get(id, for: caller, needs: .approve)
        guard review.state == .open else {
            throw PaddockError.conflict(
                "review \(id) is \(review.state.rawValue); only an open review can be approved"
                    + (review.state == .approved ? " (`paddock reviews merge \(id)` retries its merge)" : ""))
        }
        review.state = .approved
        (review.decidedBy, review.note, review.updatedAt) = (caller.user, note, sessions.clock())
        try await reviewStore.updateReview(review)
        try await sessions.record(
            review.session, "review.approve", ["review": .string(id), "note": .optional(note)], by: caller)
        return try await land(review, by: caller)
    }

    public func reject(_ id: String, note: String?, by caller: Caller) async throws -> Review {
        var review = try await get(id, for: caller, needs: .approve)
        guard review.state == .open || review.state == .approved else {
            throw PaddockError.conflict("review \(id) is \(review.state.rawValue); it can no longer be rejected")
        }
        review.state = .rejected
        (review.decidedBy, review.note, review.updatedAt) = (caller.user, note, sessions.clock())
        try await reviewStore.updateReview(review)
        try await sessions.record(
            review.session, "review.reject", ["review": .string(id), "note": .optional(note)], by: caller)
        return review
    }

    /// Merges an approved review (again, after a failed attempt).
    public func merge(_ id: String, by caller: Caller) async throws -> Review {
        let review = try await get(id, for: caller, needs: .approve)
        guard review.state == .approved else {
            throw PaddockError.conflict(
                "review \(id) is \(review.state.rawValue); only an approved review is merged "
                    + "(`paddock reviews approve \(id)` approves and merges)")
        }
        return try await land(review, by: caller)
    }

    /// Merges the review's commit into its target branch on the origin, host-side, in a scratch clone: a
    /// fast-forward when possible, else a merge commit. A conflict leaves the origin untouched.
    private func land(_ review: Review, by caller: Caller) async throws -> Review {
        guard let clones = await sessions.repositories else {
            throw PaddockError.unavailable("this server keeps no repository clones")
        }
        var review = review
        let scratch = "\(clones.root)/.merge-\(review.id)-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        do {
            let clone = try await HostGit(nil).run(
                ["clone", "--quiet", "--no-tags", "--branch", review.targetBranch, "--", review.repository, scratch],
                trust: .remote)
            guard clone.succeeded else {
                throw PaddockError.unavailable("cannot clone \(review.repository): \(clone.problem)")
            }
            let git = HostGit(scratch)
            let fetch = try await git.run(
                ["fetch", "--quiet", "origin", "refs/heads/\(review.branch)"], trust: .remote)
            guard fetch.succeeded else {
                throw PaddockError.conflict(
                    "branch \(review.branch) is gone from \(review.repository): \(fetch.problem); submit again")
            }
            let present = try await git.run(["cat-file", "-e", "\(review.commit)^{commit}"], trust: .content)
            guard present.succeeded else {
                throw PaddockError.conflict(
                    "commit \(review.commit.prefix(12)) of the review is no longer on \(review.branch); submit again")
            }
            let merged = try await git.run(
                HostGit.identity + [
                    "merge", "--quiet", "--no-edit", "--no-verify", "--no-gpg-sign", "-m",
                    "Merge review \(review.id) (\(review.branch)) into \(review.targetBranch)", review.commit,
                ], trust: .content)
            guard merged.succeeded else {
                _ = try? await git.run(["merge", "--abort"], trust: .content)
                throw PaddockError.conflict(
                    "review \(review.id) does not merge cleanly into \(review.targetBranch) (\(merged.problem)); "
                        + "the origin was not changed — rebase the work in a new session and submit again")
            }
            let head = try await git.check(["rev-parse", "HEAD"], trust: .content, "reading the merge")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let push = try await git.run(
                ["push", "--quiet", "origin", "HEAD:refs/heads/\(review.targetBranch)"], trust: .remote)
            guard push.succeeded else {
                throw PaddockError.unavailable(
                    "pushing \(review.targetBranch) to \(review.repository) failed: \(push.problem); the origin was "
                        + "not changed — `paddock reviews merge \(review.id)` retries")
            }
            review.state = .merged
            review.mergeCommit = head
            review.problem = nil
            review.updatedAt = sessions.clock()
            try await reviewStore.updateReview(review)
            try await sessions.record(
                review.session, "review.merge",
                ["review": .string(review.id), "commit": .string(head), "branch": .string(review.targetBranch)],
                by: caller)
            return review
        } catch {
            let e = PaddockError.wrap(error, "merging review \(review.id) failed")
            review.problem = e.message
            review.updatedAt = sessions.clock()
            do { try await reviewStore.updateReview(review) } catch {
                sessions.logger.error(
                    "could not store a failed merge on its review",
                    metadata: ["review.id": "\(review.id)", "error": "\(error)"])
            }
            try await sessions.record(
                review.session, "review.merge_failed", ["review": .string(review.id), "problem": .string(e.message)],
                by: caller)
            throw e
        }
    }
}
