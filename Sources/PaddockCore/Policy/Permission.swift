/// What a team may do with the sessions of a repository, as granted by the `rbac:` map of runtime.yml.
public enum Permission: String, Sendable, Codable, Hashable, CaseIterable, CustomStringConvertible {
    /// See sessions, their output, diffs and audit logs.
    case read
    /// Create sessions, run commands and prompts in them.
    case write
    /// Answer `ask` guardrails (approve or deny a held command or request).
    case approve
    /// Turn a session's diff into a branch or a pull request.
    case submit
    /// Change settings, secrets and policy; stop anything.
    case admin

    public var description: String { rawValue }
}
