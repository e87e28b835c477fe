/// Fixed paths inside every sandbox, shared by the spec builder, providers and paddock-init.
public enum SandboxLayout {
    /// Where the paddock-init binary is bind-mounted (read-only).
    public static let initPath = "/.paddock/init"
    /// A sandbox whose /workspace is a copy-on-write view of a repository layer sees the view's own changes
    /// here, read-only (the overlay's upper directory): a repository's git asks its fsmonitor hook what changed
    /// since the layer was sealed, and this is the answer, so `git status` stats no unchanged file.
    public static let workspaceChanges = "/.paddock/workspace-changes"
    /// Where agent CLIs are bind-mounted read-only (`/.paddock/agents/claude`).
    public static let toolsDirectory = "/.paddock/agents"
    /// Directory holding the init's control socket; bind-mounted from the host, reachable only by
    /// container root (the unprivileged user cannot open it).
    public static let controlDirectory = "/run/paddock"
    public static let controlSocket = "/run/paddock/init.sock"
    /// The egress gateway's socket for this sandbox (created by the server in the control directory).
    public static let egressSocket = "/run/paddock/egress.sock"
    /// Host-side name of that socket inside the control directory.
    public static let egressSocketName = "egress.sock"
    /// paddock-init listens here on 127.0.0.1 inside the sandbox and relays to `egressSocket`; the session's
    /// HTTP(S)_PROXY points at it.
    public static let egressProxyPort: UInt16 = 3128
    /// The session CA bundle (system roots + the session CA), written when the session starts.
    public static let caBundle = "/etc/paddock/ca-bundle.pem"
    /// The unprivileged user commands run as.
    public static let userName = "user"
    public static let userID: UInt32 = 1000
    public static let groupID: UInt32 = 1000
    public static let home = "/home/user"
    public static let workspace = "/workspace"
    public static let hostname = "paddock"
    /// IDs mapped into each sandbox's user namespace.
    public static let idRangeSize: UInt32 = 65536
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The environment every command starts from; session and exec environments are layered on top.
    public static func baseEnvironment(user: SandboxUser = .user) -> [String: String] {
        [
            "PATH": defaultPath,
            "HOME": user == .root ? "/root" : home,
            "USER": user == .root ? "root" : userName,
            "LOGNAME": user == .root ? "root" : userName,
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "PADDOCK": "1",
        ]
    }
}

/// Who a command or file operation runs as inside the sandbox.
public enum SandboxUser: String, Sendable, Codable {
    /// The unprivileged user (uid 1000). The default for everything.
    case user
    /// Root inside the sandbox's user namespace: no privileges on the host, and no access to host-owned
    /// files beyond what "others" may do.
    case root

    public var uid: UInt32 { self == .root ? 0 : SandboxLayout.userID }
    public var gid: UInt32 { self == .root ? 0 : SandboxLayout.groupID }
}
