import CPaddockShim
import Glibc
import PaddockInitProtocol

/// Process-wide setup, done once before the event loop starts.
enum Startup {
    /// Signals init handles through its signalfd instead of by default action.
    /// SIGUSR2 is the host's word, after gVisor restored a checkpointed sandbox, to listen again.
    static let handledSignals = [SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR2]

    static func run(_ options: Options) -> Int32 {
        // A client that disconnects mid-write must produce EPIPE, not kill PID 1 (which would end the
        // sandbox).
        _ = signal(SIGPIPE, SIG_IGN)
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in handledSignals { sigaddset(&mask, signal) }
        guard sigprocmask(SIG_BLOCK, &mask, nil) == 0 else {
            diagnose("cannot block signals: \(errnoDescription(errno))")
            return 1
        }
        let signals = pk_signalfd_open(&mask)
        guard signals >= 0 else {
            diagnose("cannot create a signalfd: \(errnoDescription(errno))")
            return 1
        }
        // As PID 1 every orphan is ours anyway; outside a PID namespace (tests) this makes it so, and
        // background grandchildren get reaped rather than left as zombies of the host's init.
        if pk_set_child_subreaper() != 0 {
            diagnose("cannot become a child subreaper: \(errnoDescription(errno))")
        }
        // Sandboxed code running under other uids must not ptrace init or read its memory.
        if pk_set_dumpable(0) != 0 {
            diagnose("cannot clear the dumpable flag: \(errnoDescription(errno))")
        }
        // The conventional default; mkdir -p for users then creates 0755 directories.
        _ = umask(0o022)
        // Root needs no supplementary groups, and file operations switch only fsuid/fsgid: any group
        // inherited here would be added to every user's permission checks.
        if geteuid() == 0 { _ = setgroups(0, nil) }

        guard let listener = listen(on: options.socketPath) else { return 1 }
        // Before "ready": whoever waits for it may connect to the proxy port at once.
        var egress: EgressRelay?
        if let port = options.egressPort, let path = options.egressSocket, let fd = EgressRelay.listen(port: port) {
            egress = EgressRelay(listener: fd, socketPath: path)
        }
        if let fd = options.readyFD {
            let line: [UInt8] = Array("ready\n".utf8)
            _ = line.withUnsafeBytes { raw in retryingEINTR { write(fd, raw.baseAddress, raw.count) } }
            closeDescriptor(fd)
        }
        let supervisor = Supervisor(listener: listener, socketPath: options.socketPath, signals: signals)
        supervisor.egress = egress
        let status = supervisor.run()
        _ = unlink(options.socketPath)
        if supervisor.sudoListener != nil { _ = unlink(sudoSocketPath) }
        return status
    }

    /// A non-blocking listening socket at `path`, mode 0600 unless told otherwise. A socket left behind by an
    /// earlier init is replaced; any other file there is an error rather than something to delete.
    static func listen(on path: String, mode: mode_t = 0o600) -> Int32? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard !bytes.contains(0), bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            diagnose("socket path '\(path)' is too long for a unix socket")
            return nil
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }

        switch fileStatus(path, followSymlinks: false) {
        case .success(let status) where status.fileType == S_IFSOCK:
            _ = unlink(path)
        case .success:
            diagnose("'\(path)' exists and is not a socket")
            return nil
        case .failure:
            break
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else {
            diagnose("cannot create a unix socket: \(errnoDescription(errno))")
            return nil
        }
        // The socket file's mode comes from the umask at bind time; 0600 leaves it to the host's uid.
        let previousMask = umask(~mode & 0o777)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        let bindError = errno
        _ = umask(previousMask)
        guard bound == 0 else {
            diagnose("cannot bind '\(path)': \(errnoDescription(bindError))")
            closeDescriptor(fd)
            return nil
        }
        guard Glibc.listen(fd, 128) == 0 else {
            diagnose("cannot listen on '\(path)': \(errnoDescription(errno))")
            closeDescriptor(fd)
            return nil
        }
        return fd
    }
}
