import Foundation
import PaddockCore

/// `POST /v1/sessions/{id}/submit`.
public struct SubmitRequestBody: Codable, Sendable {
    /// The commit message; default: a line naming the session.
    public var message: String?
    /// The branch to push; default `paddock/<session>`.
    public var branch: String?
    public init(message: String? = nil, branch: String? = nil) {
        self.message = message
        self.branch = branch
    }
}

/// What a submit found and did. `submitted` false means nothing left the server: `problems` says why.
public struct SubmitBody: Codable, Sendable, Equatable {
    public var submitted: Bool
    /// One readable line per reason the submit was blocked, each saying what to do.
    public var problems: [String]
    public var diff: ChangeDiff
    public var checks: [CheckResult]
    public var secrets: [SecretFinding]
    /// The review the submit opened.
    public var review: ReviewBody?

    public init(_ outcome: SubmitOutcome) {
        let report = outcome.report
        (submitted, problems, diff, checks, secrets) =
            (report.submitted, report.problems, report.diff, report.checks, report.secrets)
        review = outcome.review.map(ReviewBody.init)
    }
}

/// A review as the API reports it.
public struct ReviewBody: Codable, Sendable, Equatable {
    public var id: String
    public var session: String
    public var team: String?
    public var repository: String
    public var targetBranch: String
    public var branch: String
    public var base: String
    public var commit: String
    public var message: String
    public var state: String
    public var linesChanged: Int
    public var filesChanged: Int
    public var createdBy: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var decidedBy: String?
    public var note: String?
    public var mergeCommit: String?
    public var pullRequest: String?
    public var problem: String?

    public init(_ r: Review) {
        id = r.id
        session = r.session.rawValue
        team = r.team
        repository = r.repository
        targetBranch = r.targetBranch
        branch = r.branch
        base = r.base
        commit = r.commit
        message = r.message
        state = r.state.rawValue
        linesChanged = r.linesChanged
        filesChanged = r.filesChanged
        createdBy = r.createdBy
        createdAt = r.createdAt
        updatedAt = r.updatedAt
        decidedBy = r.decidedBy
        note = r.note
        mergeCommit = r.mergeCommit
        pullRequest = r.pullRequest
        problem = r.problem
    }
}

public struct ReviewListBody: Codable, Sendable, Equatable {
    public var reviews: [ReviewBody]
    public init(reviews: [ReviewBody]) { self.reviews = reviews }
}

/// `GET /v1/reviews/{id}`: the review with everything a reviewer looks at beside the diff.
public struct ReviewDetailBody: Codable, Sendable, Equatable {
    /// One event of the session's audit trail.
    public struct Event: Codable, Sendable, Equatable {
        public var seq: Int64
        /// Milliseconds since 1970.
        public var at: Int64
        public var kind: String
        public var actor: String
        public var fields: [String: AuditValue]
    }
    public var review: ReviewBody
    /// The submit's report: the diff (with the patch), the checks and the secret scan.
    public var report: SubmitReport?
    /// The session's agent runs, newest first.
    public var runs: [Run]
    /// The session's audit timeline, oldest first.
    public var audit: [Event]

    public init(_ detail: ReviewDetail) {
        review = ReviewBody(detail.review)
        report = detail.report
        runs = detail.runs
        audit = detail.audit.map {
            Event(seq: $0.seq, at: $0.at, kind: $0.kind, actor: $0.actor.description, fields: $0.fields)
        }
    }
}

/// `POST /v1/reviews/{id}/approve|reject`.
public struct ReviewDecisionBody: Codable, Sendable {
    public var note: String?
    public init(note: String? = nil) { self.note = note }
}
