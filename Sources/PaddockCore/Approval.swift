import Foundation

/// A request for a person to allow something a policy marked `ask` — an exec now, a network request later —
/// and its answer.
public struct Approval: Codable, Sendable, Equatable, Identifiable {
    public enum State: String, Codable, Sendable, CaseIterable {
        case pending
        case approved
        case denied
        /// Nobody answered in time; treated as denied.
        case expired
    }

    public var id: String
    public var session: SessionID
    /// What is asked about: `exec`, `network`.
    public var kind: String
    /// The command line or host, as shown to the approver.
    public var subject: String
    /// The decision and the rule that asked (`ask by rule 'git push*' (session runtime.yml:5:30)`).
    public var rule: String
    public var state: State
    public var requestedAt: Date
    /// When an unanswered request is denied.
    public var expiresAt: Date
    public var decidedAt: Date?
    /// Who answered (a token name or user), or `timeout`.
    public var decidedBy: String?
    public var note: String?

    public init(
        id: String, session: SessionID, kind: String, subject: String, rule: String, state: State = .pending,
        requestedAt: Date, expiresAt: Date, decidedAt: Date? = nil, decidedBy: String? = nil, note: String? = nil
    ) {
        self.id = id
        self.session = session
        self.kind = kind
        self.subject = subject
        self.rule = rule
        self.state = state
        self.requestedAt = requestedAt
        self.expiresAt = expiresAt
        self.decidedAt = decidedAt
        self.decidedBy = decidedBy
        self.note = note
    }

    /// Whether the thing asked about may go ahead.
    public var isApproved: Bool { state == .approved }

    /// The state after an answer; only a pending request can be answered.
    public func answered(_ state: State, by who: String, at: Date, note: String?) throws(PaddockError) -> Approval {
        guard self.state == .pending else {
            throw .conflict(
                "approval \(id) was already \(self.state.rawValue); `paddock approvals list` shows open ones")
        }
        guard state != .pending else { throw .invalidArgument("an answer must approve, deny or expire") }
        var copy = self
        copy.state = state
        copy.decidedBy = who
        copy.decidedAt = at
        copy.note = note
        return copy
    }
}
