import PaddockInitProtocol
import PaddockSandbox

/// A command a caller asks to run in a session, in domain terms: every door (REST, the E2B API, runs, checks)
/// builds one from its own wire format; the session's environment, working directory and the user's
/// defaults are applied by `SessionService.exec`.
public struct SessionCommand: Sendable {
    public var argv: [String]
    /// Added to the session's environment (and recorded in the audit trail by name only).
    public var env: [String: String]
    /// Relative to the session's working directory; nil: that directory.
    public var cwd: String?
    public var user: SandboxUser
    public var tty: TerminalSize?
    /// Whether the caller will send stdin.
    public var stdin: Bool
    /// Keeps running when its caller stops following it (E2B's processes outlive their connection); a
    /// reconnect finds it by pid or `tag`.
    public var detached: Bool
    public var tag: String?

    public init(
        _ argv: [String], env: [String: String] = [:], cwd: String? = nil, user: SandboxUser = .user,
        tty: TerminalSize? = nil, stdin: Bool = false, detached: Bool = false, tag: String? = nil
    ) {
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.user = user
        self.tty = tty
        self.stdin = stdin
        self.detached = detached
        self.tag = tag
    }
}
