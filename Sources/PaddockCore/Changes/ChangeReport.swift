import Foundation

/// A session's change against its base, and what the policy says about it (`changes.max_lines`,
/// `protected_branches`).
public struct ChangeDiff: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public var path: String
        /// `added`, `modified`, `deleted` or `type_changed` (without a repository, every file is `added`).
        public var status: String
        public var bytes: UInt64
        public var linesAdded: Int
        public var linesRemoved: Int
        /// Binary files count no lines.
        public var binary: Bool

        public init(path: String, status: String, bytes: UInt64, linesAdded: Int, linesRemoved: Int, binary: Bool) {
            self.path = path
            self.status = status
            self.bytes = bytes
            self.linesAdded = linesAdded
            self.linesRemoved = linesRemoved
            self.binary = binary
        }
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
    /// (cut at a size limit; `patchTruncated` then says so).
    public var baseCommit: String?
    public var submitBranch: String?
    public var patch: String?
    public var patchTruncated: Bool?
    /// Files of the change that look generated or binary (`GeneratedFiles`) and no `.gitignore` covers: kept,
    /// and warned about in `warnings`.
    public var generated: [String]?
    /// Files left out of the change by `review:` in runtime.yml (`exclude_generated`, `exclude`).
    public var excluded: [String]?
    /// Readable lines a submit shows without blocking it, each saying what to do.
    public var warnings: [String]?

    public init(
        base: String, files: [File], linesChanged: Int, branch: String?, maxLines: Int?, protectedBranches: [String],
        violations: [String], baseCommit: String? = nil, submitBranch: String? = nil, patch: String? = nil,
        patchTruncated: Bool? = nil
    ) {
        self.base = base
        self.files = files
        self.linesChanged = linesChanged
        self.branch = branch
        self.maxLines = maxLines
        self.protectedBranches = protectedBranches
        self.violations = violations
        self.baseCommit = baseCommit
        self.submitBranch = submitBranch
        self.patch = patch
        self.patchTruncated = patchTruncated
    }
}

/// One `checks:` command run in the sandbox before a submit.
public struct CheckResult: Codable, Sendable, Equatable {
    public var command: String
    public var exitCode: Int32
    public var passed: Bool
    public var ms: Int64
    /// The end of its stdout and stderr, interleaved as they came (at most 16 KiB).
    public var output: String

    public init(command: String, exitCode: Int32, passed: Bool, ms: Int64, output: String) {
        self.command = command
        self.exitCode = exitCode
        self.passed = passed
        self.ms = ms
        self.output = output
    }
}

/// Something in a diff that looks like a secret. The value itself is never reported.
public struct SecretFinding: Codable, Sendable, Equatable {
    /// `vault` (the value of a vault secret the session could reach) or the pattern: `aws_access_key`,
    /// `github_token`, `slack_token`, `private_key`, `api_key`.
    public var kind: String
    /// The vault secret's name, for `vault` findings.
    public var name: String?
    public var file: String
    public var line: Int

    public init(kind: String, name: String?, file: String, line: Int) {
        self.kind = kind
        self.name = name
        self.file = file
        self.line = line
    }
}

/// What a submit found: kept with the review it opened (as JSON, in the store), so a reviewer sees the diff,
/// the checks and the secret scan exactly as they were. `submitted` false means nothing left the server.
public struct SubmitReport: Codable, Sendable, Equatable {
    public var submitted: Bool
    /// One readable line per reason the submit was blocked, each saying what to do.
    public var problems: [String]
    public var diff: ChangeDiff
    public var checks: [CheckResult]
    public var secrets: [SecretFinding]

    public init(
        submitted: Bool, problems: [String], diff: ChangeDiff, checks: [CheckResult], secrets: [SecretFinding]
    ) {
        self.submitted = submitted
        self.problems = problems
        self.diff = diff
        self.checks = checks
        self.secrets = secrets
    }
}

/// What a submit did: its report, and the review it opened (nil when it was blocked).
public struct SubmitOutcome: Sendable, Equatable {
    public var report: SubmitReport
    public var review: Review?

    public init(report: SubmitReport, review: Review?) {
        self.report = report
        self.review = review
    }
}

/// A review with everything a reviewer looks at beside it: the submit's report, the session's agent runs
/// (newest first) and its audit timeline (oldest first).
public struct ReviewDetail: Sendable, Equatable {
    public var review: Review
    public var report: SubmitReport?
    public var runs: [Run]
    public var audit: [AuditEvent]

    public init(review: Review, report: SubmitReport?, runs: [Run], audit: [AuditEvent]) {
        self.review = review
        self.report = report
        self.runs = runs
        self.audit = audit
    }
}
