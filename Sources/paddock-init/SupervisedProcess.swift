import Glibc
import PaddockInitProtocol

/// A process started by `spawn`: its descriptors, pending input, attached client and exit status.
final class SupervisedProcess {
    let pid: pid_t
    let info: WireProcessInfo
    let detached: Bool

    /// Pipe write end feeding the child's stdin; nil when closed or not requested. Unused with a pty.
    private(set) var stdinPipe: Int32?
    private(set) var stdoutPipe: Int32?
    private(set) var stderrPipe: Int32?
    /// The pty master: carries stdin and stdout.
    private(set) var terminal: Int32?
    /// The master still yields output (it reports EIO once every slave descriptor is closed).
    private(set) var terminalOutputOpen = false

    var pendingStdin = ByteQueue()
    var stdinCloseRequested = false
    /// The last byte queued for a terminal, to know whether ^D must first end a partial line.
    var lastTerminalInput: UInt8?

    var connection: ConnectionID?
    /// Retained output of a detached process, replayed on `attach`.
    var history: OutputHistory?
    var exit: ExitStatus?

    init(
        pid: pid_t, info: WireProcessInfo, detached: Bool, stdinPipe: Int32?, stdoutPipe: Int32?,
        stderrPipe: Int32?, terminal: Int32?
    ) {
        self.pid = pid
        self.info = info
        self.detached = detached
        self.stdinPipe = stdinPipe
        self.stdoutPipe = stdoutPipe
        self.stderrPipe = stderrPipe
        self.terminal = terminal
        self.terminalOutputOpen = terminal != nil
    }

    /// The descriptor to read `stream` from, while it is open.
    func outputDescriptor(_ stream: OutputStream) -> Int32? {
        switch stream {
        case .stdout: terminalOutputOpen ? terminal : stdoutPipe
        case .stderr: stderrPipe
        }
    }

    /// Where stdin bytes go, while it is open.
    var inputDescriptor: Int32? { terminal ?? stdinPipe }

    var acceptsInput: Bool { inputDescriptor != nil && !stdinCloseRequested }

    /// Stops reading `stream` (EOF, or the pty slave side is gone).
    func closeOutput(_ stream: OutputStream) {
        switch stream {
        case .stdout:
            if terminal != nil {
                terminalOutputOpen = false
            } else if let fd = stdoutPipe {
                closeDescriptor(fd)
                stdoutPipe = nil
            }
        case .stderr:
            if let fd = stderrPipe {
                closeDescriptor(fd)
                stderrPipe = nil
            }
        }
    }

    /// Closes the stdin pipe (the child sees EOF). A pty has no separate stdin to close.
    func closeStdinPipe() {
        pendingStdin.removeAll()
        if let fd = stdinPipe {
            closeDescriptor(fd)
            stdinPipe = nil
        }
    }

    /// Releases every descriptor; called once the process has been reaped and drained.
    func closeAll() {
        closeStdinPipe()
        closeOutput(.stdout)
        closeOutput(.stderr)
        if let fd = terminal {
            closeDescriptor(fd)
            terminal = nil
            terminalOutputOpen = false
        }
    }

    /// Signals the process group (the child leads its own session), or just the process if the group
    /// is already gone.
    @discardableResult
    func signalGroup(_ signal: Int32) -> Bool {
        if kill(-pid, signal) == 0 { return true }
        return kill(pid, signal) == 0
    }
}
