import Foundation
import Hummingbird
import PaddockCore

/// An approval as the API reports it.
public struct ApprovalBody: Codable, Sendable, Equatable {
    public var id: String
    public var session: String
    public var kind: String
    public var subject: String
    public var rule: String
    public var state: String
    public var requestedAt: Date
    public var expiresAt: Date
    public var decidedAt: Date?
    public var decidedBy: String?
    public var note: String?

    public init(_ a: Approval) {
        id = a.id
        session = a.session.rawValue
        kind = a.kind
        subject = a.subject
        rule = a.rule
        state = a.state.rawValue
        requestedAt = a.requestedAt
        expiresAt = a.expiresAt
        decidedAt = a.decidedAt
        decidedBy = a.decidedBy
        note = a.note
    }
}

public struct ApprovalListBody: Codable, Sendable {
    public var approvals: [ApprovalBody]
}

/// `POST /v1/approvals/{id}/approve` and `…/deny`.
public struct ApprovalAnswerBody: Codable, Sendable {
    public var note: String?
    public init(note: String? = nil) { self.note = note }
}

/// `GET /v1/sessions/{id}/diff`: the session's change and what the policy says about it.
public struct DiffBody: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public var path: String
        /// `added`, `modified`, `deleted` or `type_changed` (without a repository, every file is `added`).
        public var status: String
        public var bytes: UInt64
        public var linesAdded: Int
        public var linesRemoved: Int
        /// Binary files count no lines.
        public var binary: Bool
    }
    public var base: String
    public var files: [File]
    public var linesChanged: Int
    /// The branch checked out in /workspace, when it is a git repository.
    public var branch: String?
    public var maxLines: Int?
    public var protectedBranches: [String]
    /// One message per problem, each saying what to do; empty when the change passes.
    public var violations: [String]
    /// Repository sessions: the commit the diff is against, the branch a submit pushes, and the unified diff
    /// (cut at `patchLimit` bytes, `patchTruncated` then says so).
    public var baseCommit: String?
    public var submitBranch: String?
    public var patch: String?
    public var patchTruncated: Bool?
}

extension ApprovalBody: ResponseEncodable {}
extension ApprovalListBody: ResponseEncodable {}
extension DiffBody: ResponseEncodable {}
