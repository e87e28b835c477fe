import PaddockCore

/// One program start inside a sandbox, as the host saw it in the `execve`/`execveat` the kernel held back.
public struct ExecAttempt: Sendable, CustomStringConvertible {
    public var session: SessionID
    /// The calling thread's pid on the host.
    public var pid: Int32
    /// The argument vector and every path the program is known by: the path given to the syscall (made
    /// absolute inside the sandbox), where its symlinks lead, and the canonical path of a guarded program whose
    /// content it has (a renamed or copied `rm` is also `/usr/bin/rm`).
    public var invocation: CommandInvocation
    /// The working directory inside the sandbox.
    public var cwd: String

    public init(session: SessionID, pid: Int32, invocation: CommandInvocation, cwd: String) {
        self.session = session
        self.pid = pid
        self.invocation = invocation
        self.cwd = cwd
    }

    public var description: String { "\(invocation) (pid \(pid), cwd \(cwd))" }
}

/// Decides whether a program may start in one sandbox. The provider asks it for every `execve` inside the
/// sandbox; the process stays blocked in the syscall until the answer comes, so an implementation may wait (for a
/// person's approval) — other sandboxes and other processes are not held up.
public protocol ExecGuard: Sendable {
    /// Program names (`rm`, `sudo`) the rules name: their binaries in the sandbox's PATH are identified by content,
    /// so a renamed or copied binary is still recognised.
    var guardedPrograms: [String] { get }
    /// true lets the program start; false fails the exec with EPERM.
    func decide(_ attempt: ExecAttempt) async -> Bool
}

/// What a sandbox enforces below its processes.
public struct SandboxGuardrails: Sendable {
    /// Asked for every exec; nil leaves execs unguarded (and free of any per-exec cost).
    public var exec: (any ExecGuard)?
    /// Paths made read-only or hidden by mounts, shallowest first.
    public var files: [FileMount]

    public init(exec: (any ExecGuard)? = nil, files: [FileMount] = []) {
        self.exec = exec
        self.files = files
    }
}

/// A path inside the sandbox that a mount makes read-only or hides.
public struct FileMount: Sendable, Equatable {
    /// Absolute path inside the sandbox.
    public var path: String
    /// Hidden paths are covered by an empty, unreadable, read-only mount; others are bound read-only over
    /// themselves.
    public var hidden: Bool

    public init(path: String, hidden: Bool) {
        self.path = path
        self.hidden = hidden
    }
}
