import Foundation
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
    public init(approvals: [ApprovalBody]) { self.approvals = approvals }
}

/// `POST /v1/approvals/{id}/approve` and `…/deny`.
public struct ApprovalAnswerBody: Codable, Sendable {
    public var note: String?
    public init(note: String? = nil) { self.note = note }
}
