import Foundation

/// The git repository a session works on: where it came from, the branch it targets and the commit it started
/// from. The server keeps its own clone; the sandbox gets a copy without remotes or credentials.
public struct SessionRepository: Codable, Sendable, Equatable {
    /// A git URL or an absolute path on the server's host, as given.
    public var url: String
    /// The branch checked out in /workspace, and where an approved review merges.
    public var branch: String
    /// The commit the session started from; diffs are against it. Empty until the clone exists.
    public var base: String
    /// The open pull request whose head `branch` is (its web address), when the work was asked for on one (an
    /// `@paddock` comment): an approved submit lands on that branch, which updates the pull request, and no
    /// second pull request is opened.
    public var pullRequest: String?

    public init(url: String, branch: String, base: String = "", pullRequest: String? = nil) {
        self.url = url
        self.branch = branch
        self.base = base
        self.pullRequest = pullRequest
    }

    /// Checks what a client could get wrong before anything is cloned.
    public func validate() throws(PaddockError) {
        guard !url.isEmpty, url.count <= 2048, !url.hasPrefix("-"), !url.contains(where: { $0.isNewline || $0 == "\0" })
        else {
            throw .invalidArgument("repository '\(url)' is not valid; give a git URL or an absolute path")
        }
        let schemes = ["https://", "http://", "ssh://", "git://", "file://"]
        let scp = url.range(of: #"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:"#, options: .regularExpression) != nil
        guard url.hasPrefix("/") || schemes.contains(where: url.hasPrefix) || scp else {
            throw .invalidArgument(
                "repository '\(url)' is neither a git URL (https://, ssh://, git@host:path) nor an absolute path; "
                    + "pass --repo with one of those")
        }
        try Self.validate(branch: branch, what: "branch")
        if let pullRequest {
            guard pullRequest.count <= 2048, let address = URL(string: pullRequest),
                address.scheme == "https" || address.scheme == "http", address.host != nil
            else {
                throw .invalidArgument("the pull request '\(pullRequest.prefix(100))' is not an http(s) address")
            }
        }
    }

    /// A branch name git accepts and no option parser mistakes for a flag.
    public static func validate(branch: String, what: String) throws(PaddockError) {
        let bad =
            branch.isEmpty || branch.count > 200 || branch.hasPrefix("-") || branch.hasPrefix("/")
            || branch.hasSuffix("/") || branch.hasSuffix(".lock") || branch.contains("..") || branch.contains("//")
            || branch.contains("@{") || branch.hasSuffix(".")
            || branch.contains(where: {
                $0.isWhitespace || "~^:?*[\\\0".contains($0) || $0.asciiValue.map { $0 < 32 } == true
            })
        if bad {
            throw .invalidArgument(
                "\(what) '\(branch)' is not a valid git branch name; use letters, digits, '-', '_', '.' and '/'")
        }
    }
}
