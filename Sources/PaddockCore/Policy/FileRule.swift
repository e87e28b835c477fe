/// One entry of `files.read_only` or `files.hidden`, as written, with where it was written.
public struct FileRule: Sendable, Codable, Hashable, CustomStringConvertible {
    /// `readOnly` or `hidden`.
    public var access: FileAccess
    /// The path as written: absolute, `~/…` (the sandbox user's home) or relative to the workspace.
    public var path: String
    public var origin: RuleOrigin?

    public init(_ access: FileAccess, _ path: String, origin: RuleOrigin? = nil) {
        self.access = access
        self.path = path
        self.origin = origin
    }

    /// `hidden '~/.ssh' (org org.yml:7:14)`.
    public var description: String {
        guard let origin else { return "\(access) '\(path)'" }
        return "\(access) '\(path)' (\(origin))"
    }

    /// Checks a path as written in a policy and returns it resolved (`~/.ssh` → `/home/user/.ssh`); the error
    /// says what to write instead.
    ///
    /// File rules are enforced with mounts, which name one path each, so wildcards are refused rather than
    /// silently never matching.
    public static func resolve(
        _ path: String, home: String = SandboxPaths.home, workspace: String = SandboxPaths.workspace
    ) throws(PaddockError) -> String {
        let trimmed = path.trimmingWhitespace()
        guard !trimmed.isEmpty else {
            throw .invalidArgument("the path is empty; write a path such as .git/hooks or ~/.ssh")
        }
        guard !trimmed.contains(where: { "*?[".contains($0) }) else {
            throw .invalidArgument(
                "'\(path)' has a wildcard; file rules are enforced by mounts, which name one path each, so list "
                    + "each path (a directory covers everything under it)")
        }
        if trimmed.first == "~", trimmed != "~", !trimmed.hasPrefix("~/") {
            throw .invalidArgument(
                "'\(path)' names another user's home; only ~ (the sandbox user's home, \(home)) is understood")
        }
        if trimmed.contains(where: { $0 == "$" }) {
            throw .invalidArgument("'\(path)' uses a variable; write the path itself (~ for the home directory)")
        }
        if trimmed.split(separator: "/").contains("..") {
            throw .invalidArgument("'\(path)' uses '..'; write the path it leads to instead")
        }
        let resolved = SandboxPaths.resolve(trimmed, home: home, workspace: workspace)
        guard resolved != "/" else {
            throw .invalidArgument("'\(path)' is the whole filesystem; name the directories to protect")
        }
        return resolved
    }
}
