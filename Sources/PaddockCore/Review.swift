import Foundation

/// A submitted change waiting for a decision: a commit pushed to its own branch on the repository's origin,
/// which an approver merges into the target branch or rejects.
public struct Review: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Submitted, not decided.
        case open
        /// Approved but not merged yet (the merge failed, for example on a conflict; `reviews merge` retries).
        case approved
        /// Merged into the target branch on the origin.
        case merged
        case rejected
    }

    public var id: String
    public var session: SessionID
    public var team: String?
    public var repository: String
    /// Where an approval merges.
    public var targetBranch: String
    /// The branch the submit pushed.
    public var branch: String
    public var base: String
    public var commit: String
    public var message: String
    public var state: State
    public var linesChanged: Int
    public var filesChanged: Int
    /// The submit's report (diff, checks, secret scan) as the API encodes it, JSON.
    public var report: String
    public var createdBy: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var decidedBy: String?
    public var note: String?
    public var mergeCommit: String?
    public var pullRequest: String?
    /// Why the last merge attempt failed, if it did.
    public var problem: String?

    public init(
        id: String, session: SessionID, team: String?, repository: String, targetBranch: String, branch: String,
        base: String, commit: String, message: String, linesChanged: Int, filesChanged: Int, report: String,
        createdBy: String?, createdAt: Date
    ) {
        self.id = id
        self.session = session
        self.team = team
        self.repository = repository
        self.targetBranch = targetBranch
        self.branch = branch
        self.base = base
        self.commit = commit
        self.message = message
        self.state = .open
        self.linesChanged = linesChanged
        self.filesChanged = filesChanged
        self.report = report
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }

    /// A new review id: `r` and 15 lowercase letters and digits.
    public static func makeID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return "r" + String((0..<15).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }

    /// Whether `text` could be a review id (checked before it reaches a query or a message).
    public static func isValidID(_ text: String) -> Bool {
        text.count == 16 && text.first == "r" && text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber) }
    }
}
