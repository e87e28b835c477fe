import CPaddockShim
import Glibc
import PaddockInitProtocol

/// Turns a `SpawnRequest` into a running child: resolves the command, creates its pipes or pty and
/// forks through the C shim.
enum ProcessLauncher {
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    static let defaultTerminalSize = TerminalSize(rows: 24, cols: 80)

    static func launch(_ request: SpawnRequest) throws(InitFailure) -> SupervisedProcess {
        guard let command = request.argv.first, !command.isEmpty else {
            throw InitFailure(.invalidArgument, "argv is empty: name a command to run")
        }
        if let bad = (request.argv + request.env + [request.cwd]).first(where: { $0.utf8.contains(0) }) {
            throw InitFailure(.invalidArgument, "argument '\(bad.prefix(64))' contains a NUL byte")
        }
        let cwd = request.cwd.isEmpty ? "/" : request.cwd
        switch fileStatus(cwd, followSymlinks: true) {
        case .success(let info) where !info.isDirectory:
            throw InitFailure(.invalidArgument, errno: ENOTDIR, "working directory '\(cwd)' is not a directory")
        case .success: break
        case .failure(let error) where error.code == ENOENT:
            throw InitFailure(.notFound, errno: ENOENT, "working directory '\(cwd)' does not exist")
        case .failure(let error):
            throw InitFailure(errno: error.code, "cannot use working directory '\(cwd)'")
        }
        let path = try resolve(command, env: request.env, cwd: cwd)
        let stdio = try ChildStdio(request)
        defer { stdio.closeChildEnds() }

        let strings = CStringTable()
        let argv = strings.array(request.argv)
        let envp = strings.array(request.env)
        var spawn = pk_spawn_request()
        spawn.path = UnsafePointer(strings.string(path))
        spawn.cwd = UnsafePointer(strings.string(cwd))
        spawn.argv = UnsafePointer(argv)
        spawn.envp = UnsafePointer(envp)
        spawn.stdin_fd = stdio.childStdin
        spawn.stdout_fd = stdio.childStdout
        spawn.stderr_fd = stdio.childStderr
        spawn.tty_fd = stdio.slave ?? -1
        spawn.change_identity = needsIdentityChange(request.user) ? 1 : 0
        spawn.uid = request.user.uid
        spawn.gid = request.user.gid
        if spawn.change_identity != 0 {
            stdio.handOver(to: request.user)
        }

        var stage: Int32 = 0
        let pid = pk_spawn(&spawn, &stage)
        guard pid > 0 else {
            let code = errno
            stdio.closeParentEnds()
            throw failure(stage: stage, errno: code, command: command, path: path, cwd: cwd, user: request.user)
        }
        let info = WireProcessInfo(
            pid: pid, argv: request.argv, cwd: cwd, tag: request.tag, tty: request.tty != nil)
        return SupervisedProcess(
            pid: pid, info: info, detached: request.detached, stdinPipe: stdio.parentStdin,
            stdoutPipe: stdio.parentStdout, stderrPipe: stdio.parentStderr, terminal: stdio.master)
    }

    /// Root switching to any other identity; a non-root init runs everything as itself.
    static func needsIdentityChange(_ user: WireUser) -> Bool {
        geteuid() == 0 && (user.uid != 0 || user.gid != getegid())
    }

    /// `command` itself when it has a slash, else the first executable regular file named `command` on
    /// the request's PATH (execvp semantics, but against the child's environment, not ours; the first
    /// PATH entry wins, as with getenv).
    static func resolve(_ command: String, env: [String], cwd: String) throws(InitFailure) -> String {
        if command.contains("/") { return command }
        let searchPath = env.first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? defaultPath
        for entry in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            var directory = entry.isEmpty ? cwd : String(entry)
            if !directory.hasPrefix("/") { directory = cwd + "/" + directory }
            let candidate = directory.hasSuffix("/") ? directory + command : directory + "/" + command
            if case .success(let info) = fileStatus(candidate, followSymlinks: true), info.isRegularFile,
                info.st_mode & 0o111 != 0
            {
                return candidate
            }
        }
        throw InitFailure(.notFound, errno: ENOENT, "command '\(command)' not found (PATH=\(searchPath))")
    }

    private static func failure(
        stage: Int32, errno code: Int32, command: String, path: String, cwd: String, user: WireUser
    ) -> InitFailure {
        switch UInt32(stage) {
        case PK_SPAWN_STAGE_CHDIR.rawValue:
            InitFailure(errno: code, "cannot change to working directory '\(cwd)'")
        case PK_SPAWN_STAGE_IDENTITY.rawValue:
            InitFailure(errno: code, "cannot switch to uid \(user.uid) gid \(user.gid) for '\(command)'")
        case PK_SPAWN_STAGE_EXEC.rawValue:
            InitFailure(errno: code, "cannot run '\(command)' (\(path))")
        case PK_SPAWN_STAGE_SETUP.rawValue:
            InitFailure(errno: code, "cannot set up the terminal and standard streams for '\(command)'")
        default:
            InitFailure(errno: code, "cannot start a process for '\(command)'")
        }
    }
}

/// The descriptors of one spawn: the child's ends (closed in the parent after fork) and ours.
private final class ChildStdio {
    var childStdin: Int32 = -1
    var childStdout: Int32 = -1
    var childStderr: Int32 = -1
    var slave: Int32?
    var master: Int32?
    var parentStdin: Int32?
    var parentStdout: Int32?
    var parentStderr: Int32?
    private var childEnds: [Int32] = []

    init(_ request: SpawnRequest) throws(InitFailure) {
        do throws(InitFailure) {
            if let size = request.tty {
                let wanted = size.rows == 0 || size.cols == 0 ? ProcessLauncher.defaultTerminalSize : size
                var masterFD: Int32 = -1
                var slaveFD: Int32 = -1
                guard pk_open_pty(&masterFD, &slaveFD, wanted.rows, wanted.cols) == 0 else {
                    throw InitFailure(errno: errno, "cannot allocate a pseudo-terminal")
                }
                master = masterFD
                slave = slaveFD
                childEnds.append(slaveFD)
                (childStdin, childStdout, childStderr) = (slaveFD, slaveFD, slaveFD)
                return
            }
            if request.stdin {
                let (read, write) = try makePipe()
                childStdin = read
                parentStdin = write
            } else {
                childStdin = try openNullOrClosedPipe()
            }
            let (outRead, outWrite) = try makePipe()
            parentStdout = outRead
            childStdout = outWrite
            let (errRead, errWrite) = try makePipe()
            parentStderr = errRead
            childStderr = errWrite
            // Our ends are non-blocking (the event loop must never stall); the child's stay blocking.
            for fd in [parentStdin, parentStdout, parentStderr].compactMap({ $0 }) where !setNonBlocking(fd) {
                throw InitFailure(errno: errno, "cannot configure a pipe")
            }
        } catch {
            closeChildEnds()
            closeParentEnds()
            throw error
        }
    }

    private func makePipe() throws(InitFailure) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pk_pipe_cloexec(&fds) == 0 else { throw InitFailure(errno: errno, "cannot create a pipe") }
        childEnds.append(contentsOf: fds)
        return (fds[0], fds[1])
    }

    /// /dev/null, or (in a rootfs without it) a pipe whose write end is already closed: EOF either way.
    private func openNullOrClosedPipe() throws(InitFailure) -> Int32 {
        let fd = retryingEINTR { open("/dev/null", O_RDWR | O_CLOEXEC) }
        if fd >= 0 {
            childEnds.append(fd)
            return fd
        }
        let (read, write) = try makePipe()
        closeDescriptor(write)
        childEnds.removeAll { $0 == write }
        return read
    }

    /// Makes the user own their terminal (like login(1)) and their pipes. A pipe's inode belongs to its
    /// creator with mode 0600, so without this `echo hi > /dev/stderr` (a reopen through /proc/self/fd)
    /// fails with EACCES for a process that is not root.
    func handOver(to user: WireUser) {
        if let slave {
            _ = fchown(slave, user.uid, user.gid)
            _ = fchmod(slave, 0o620)
            return
        }
        for fd in [childStdin, childStdout, childStderr] where fd >= 0 {
            var status = stat()
            if fstat(fd, &status) == 0 && status.fileType == S_IFIFO { _ = fchown(fd, user.uid, user.gid) }
        }
    }

    func closeChildEnds() {
        let parentEnds = [parentStdin, parentStdout, parentStderr].compactMap { $0 }
        for fd in childEnds where !parentEnds.contains(fd) { closeDescriptor(fd) }
        childEnds = []
    }

    func closeParentEnds() {
        for fd in [parentStdin, parentStdout, parentStderr, master].compactMap({ $0 }) { closeDescriptor(fd) }
        (parentStdin, parentStdout, parentStderr, master) = (nil, nil, nil, nil)
    }
}

/// C strings whose storage lives as long as the table: argv/envp/path for one `pk_spawn`.
private final class CStringTable {
    private var owned: [UnsafeMutablePointer<CChar>] = []
    private var arrays: [UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>] = []

    func string(_ value: String) -> UnsafeMutablePointer<CChar>? {
        guard let copy = strdup(value) else { return nil }
        owned.append(copy)
        return copy
    }

    /// A NULL-terminated array of copies of `values`.
    func array(_ values: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let base = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: values.count + 1)
        for (i, value) in values.enumerated() { base[i] = string(value) }
        base[values.count] = nil
        arrays.append(base)
        return base
    }

    deinit {
        for pointer in owned { free(pointer) }
        for array in arrays { array.deallocate() }
    }
}
