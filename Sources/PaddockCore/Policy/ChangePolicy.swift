/// The `changes:` guardrail: how large a session's diff may be and which branches it may not target.
///
/// Checked whenever a session's diff is taken (`paddock diff ID --check`, submit), not per command.
public struct ChangePolicy: Sendable, Codable, Hashable {
    /// Most lines a session may change (added plus removed); nil for no limit.
    public var maxLines: Sourced<Int>?
    /// Branch names or globs (`main`, `release/*`) a session's changes may not be pushed to.
    public var protectedBranches: [Sourced<String>]

    public init(maxLines: Sourced<Int>? = nil, protectedBranches: [Sourced<String>] = []) {
        self.maxLines = maxLines
        self.protectedBranches = protectedBranches
    }

    /// The protected-branch entry that covers `branch` (`refs/heads/` is ignored), or nil.
    public func protection(of branch: String) -> Sourced<String>? {
        let name = branch.hasPrefix("refs/heads/") ? String(branch.dropFirst("refs/heads/".count)) : branch
        return protectedBranches.first { GlobPattern($0.value).matches(name) }
    }

    /// What is wrong with a diff of `linesChanged` lines aimed at `branch`, one message per problem, each saying
    /// what to do; empty when the change is acceptable.
    public func violations(linesChanged: Int, branch: String?) -> [String] {
        var problems: [String] = []
        if let maxLines, linesChanged > maxLines.value {
            problems.append(
                "the session changed \(linesChanged) lines, more than the \(maxLines.value) allowed by "
                    + "changes.max_lines (\(maxLines.origin?.description ?? "policy")); split the work or ask an "
                    + "admin to raise the limit")
        }
        if let branch, let rule = protection(of: branch) {
            problems.append(
                "branch '\(branch)' is protected by '\(rule.value)' (\(rule.origin?.description ?? "policy")); "
                    + "submit to a new branch and open a pull request")
        }
        return problems
    }
}
