/// Protocol version reported by paddock-init in `helloReply`; bump when a message changes shape.
public let wireProtocolVersion: UInt32 = 2

/// The identity an operation runs as inside the sandbox.
public struct WireUser: Equatable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }
}

/// Where `enableSudo` listens inside the sandbox (any sandbox process may connect).
public let sudoSocketPath = "/tmp/.paddock-sudo.sock"

/// What happened to a watched entry, in E2B's (envd's) terms.
public enum WireFileEventKind: UInt8, Sendable {
    case create = 1, write, remove, rename, chmod
}

/// One change under a watched directory; `path` is relative to it.
public struct WireFileEvent: Equatable, Sendable {
    public var kind: WireFileEventKind
    public var path: String
    public init(kind: WireFileEventKind, path: String) {
        self.kind = kind
        self.path = path
    }
}

/// A terminal size in character cells.
public struct TerminalSize: Equatable, Sendable {
    public var rows: UInt16
    public var cols: UInt16
    public init(rows: UInt16, cols: UInt16) {
        self.rows = rows
        self.cols = cols
    }
}

/// Start a process. `argv[0]` is resolved against `PATH` from `env` when it has no slash.
public struct SpawnRequest: Equatable, Sendable {
    public var argv: [String]
    /// `KEY=VALUE` entries; the whole environment of the new process.
    public var env: [String]
    public var cwd: String
    public var user: WireUser
    /// Allocate a pseudo-terminal of this size; stdout then carries the terminal's output.
    public var tty: TerminalSize?
    /// The client will send stdin; otherwise the process reads /dev/null.
    public var stdin: Bool
    /// Keep running when the connection closes (re-attach with `attach`); otherwise the process group
    /// is killed when its connection goes away, so a vanished client never leaves work behind.
    public var detached: Bool
    /// A free-form label listed with the process (E2B's "tag").
    public var tag: String?

    public init(
        argv: [String], env: [String], cwd: String, user: WireUser, tty: TerminalSize? = nil,
        stdin: Bool = false, detached: Bool = false, tag: String? = nil
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

/// What `stat` and `listDir` report for one path.
public struct WireFileInfo: Equatable, Sendable {
    public enum Kind: UInt8, Sendable { case file = 0, directory = 1, symlink = 2, other = 3 }
    public var name: String
    public var path: String
    public var kind: Kind
    public var size: UInt64
    /// Full `st_mode` (type and permission bits).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Modification time, nanoseconds since the epoch.
    public var mtimeNanos: Int64
    public var symlinkTarget: String?
    /// The file's `user.e2b.*` extended attributes, without the prefix (E2B's file metadata).
    public var metadata: [String: String]

    public init(
        name: String, path: String, kind: Kind, size: UInt64, mode: UInt32, uid: UInt32, gid: UInt32,
        mtimeNanos: Int64, symlinkTarget: String? = nil, metadata: [String: String] = [:]
    ) {
        self.metadata = metadata
        self.name = name
        self.path = path
        self.kind = kind
        self.size = size
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtimeNanos = mtimeNanos
        self.symlinkTarget = symlinkTarget
    }
}

/// A process paddock-init supervises.
public struct WireProcessInfo: Equatable, Sendable {
    public var pid: Int32
    public var argv: [String]
    public var cwd: String
    public var tag: String?
    public var tty: Bool
    public init(pid: Int32, argv: [String], cwd: String, tag: String?, tty: Bool) {
        self.pid = pid
        self.argv = argv
        self.cwd = cwd
        self.tag = tag
        self.tty = tty
    }
}

/// Error codes carried by `failure`; they map one-to-one onto PaddockError codes on the host.
public enum WireErrorCode: String, Sendable {
    case notFound = "not_found"
    case permissionDenied = "permission_denied"
    case invalidArgument = "invalid_argument"
    case alreadyExists = "already_exists"
    case resourceExhausted = "resource_exhausted"
    case `internal` = "internal"
}

/// Every message either side sends.
///
/// A connection carries exactly one operation: its first frame is a request (`hello` … `rename`). For
/// `spawn`/`attach` the host may then send `stdin`, `closeStdin`, `signal`, `resize`; init answers
/// `started`, then `stdout`/`stderr`, and finally `exited`. `writeFile` is followed by `data`… `end` from the
/// host; `readFile` is answered by `data`… `end`. Every other request gets one reply (`ok`, `files`,
/// `processes`, `helloReply`) or a `failure`.
public enum WireMessage: Equatable, Sendable {
    // Requests (host -> init), first frame of a connection.
    case hello
    case spawn(SpawnRequest)
    case attach(pid: Int32)
    case listProcesses
    case readFile(path: String, user: WireUser)
    case writeFile(path: String, mode: UInt32, append: Bool, user: WireUser)
    case stat(path: String, user: WireUser)
    case listDir(path: String, depth: UInt32, user: WireUser)
    case makeDir(path: String, user: WireUser)
    case remove(path: String, user: WireUser)
    case rename(from: String, to: String, user: WireUser)
    /// Replaces a file's `user.e2b.*` extended attributes with `metadata` (keys without the prefix).
    case setMetadata(path: String, metadata: [String: String], user: WireUser)
    /// Signal a supervised process's group from a connection other than its own.
    case signalProcess(pid: Int32, signal: Int32)
    /// Connect to `127.0.0.1:port` inside the sandbox. Init answers `ok` once connected (or a `failure`);
    /// from then on the connection carries raw bytes both ways, unframed, until either side closes.
    case dial(port: UInt16)
    /// Connect to `127.0.0.1:port` inside the sandbox and hand the connected socket to the host: init answers
    /// `ok` with the socket attached (SCM_RIGHTS) and closes the connection, so the port's bytes skip init's
    /// relay. Only over a unix socket that carries descriptors; an init without it closes the connection.
    case dialHandoff(port: UInt16)
    /// Watch a directory (and, `recursive`, every directory below it, including ones made later) with inotify,
    /// with the user's permissions. Init answers `ok` once the watch is set (or a `failure`), then `fileEvents`
    /// as changes happen, and `end` when the directory itself goes away; closing the connection stops it. Any
    /// frame the host sends on it asks init to read what inotify has queued now and answer with an empty
    /// `fileEvents` after those changes (a barrier: a change made before the frame was sent is reported first).
    case watch(path: String, recursive: Bool, user: WireUser)
    /// Lets processes in the sandbox run commands as the sandbox's root through `sudo` (paddock-init called as
    /// `sudo`), over a second socket, `sudoSocketPath`, that only answers `spawn` as root. Answered `ok`.
    case enableSudo
    /// Before gVisor checkpoints the sandbox to disk: init stops listening (on the sudo socket too), closes every
    /// other connection and its egress connections (a checkpoint cannot hold a socket bound to the host), answers
    /// `ok` and closes this one. SIGUSR2 (sent by the host after the restore) makes it listen again. Refused while
    /// a client is attached to a running command, which closing its connection would kill.
    case quiesce

    // Stream control (host -> init) on a spawn/attach connection.
    case stdin([UInt8])
    case closeStdin
    case signal(Int32)
    case resize(TerminalSize)

    // Replies and events (init -> host).
    case helloReply(version: UInt32, pid: Int32)
    case started(pid: Int32)
    case stdout([UInt8])
    case stderr([UInt8])
    /// `signal` is non-zero when the process was killed by that signal; `code` is then 128 + signal.
    case exited(code: Int32, signal: Int32)
    case failure(code: String, errno: Int32, message: String)
    case ok
    case files([WireFileInfo])
    case processes([WireProcessInfo])
    /// Changes seen by a `watch`, oldest first.
    case fileEvents([WireFileEvent])

    // File data in either direction.
    case data([UInt8])
    case end
}
