#if os(Linux)
    import CPaddockShim
    import Foundation
    import Glibc
    import Logging
    import PaddockCore
    import PaddockSandbox
    import Synchronization

    /// The host side of the exec guardrail: receives each guarded sandbox's seccomp notify fd from the runtime
    /// and answers every `execve`/`execveat` the kernel holds back, for all sandboxes of this process, from one
    /// thread.
    ///
    /// The runtime (runc) connects to `socketPath` while it starts a sandbox whose profile has `SCMP_ACT_NOTIFY`
    /// rules and sends the container state (JSON, whose `metadata` is the session id) with the notify fd attached.
    /// The thread then waits in `epoll` on the listening socket and every notify fd, so hundreds of idle sandboxes
    /// cost a descriptor each, not a thread. For each notification it reads the program's path and argv from the
    /// blocked process (`/proc/PID/mem`), resolves the path inside the sandbox's root, checks with
    /// `SECCOMP_IOCTL_NOTIF_ID_VALID` that what it read still belongs to the waiting syscall, and hands the
    /// attempt to the session's `ExecGuard` in a task: a decision that waits (an approval) holds up only that one
    /// process. The answer is `SECCOMP_USER_NOTIF_FLAG_CONTINUE` or `EPERM`.
    ///
    /// If the server goes away, the kernel fails the sandbox's execs with ENOSYS: guarded sandboxes fail closed.
    public final class ExecGuardListener: Sendable {
        /// One guarded sandbox.
        final class Registration: Sendable {
            let session: SessionID
            let guardrail: any ExecGuard
            /// The notify fd once the runtime sent it; nil before and after.
            private let fd = Mutex<Int32?>(nil)
            /// The container's init, whose first exec (of paddock-init itself) is the sandbox starting.
            let initPID = Mutex<Int32?>(nil)
            /// Content of the guarded programs, found in the sandbox's PATH on the first exec.
            private let programs = Mutex<ProgramIdentity.References?>(nil)

            init(session: SessionID, guardrail: any ExecGuard) {
                self.session = session
                self.guardrail = guardrail
            }

            var notifyFD: Int32? { fd.withLock { $0 } }

            /// The guarded programs' identities, looked up once per sandbox through one of its processes' root.
            func references(root: Int32) -> ProgramIdentity.References {
                programs.withLock { cached in
                    if let cached { return cached }
                    let found = ProgramIdentity.references(root: root, names: guardrail.guardedPrograms)
                    cached = found
                    return found
                }
            }

            func attach(_ descriptor: Int32) -> Bool {
                fd.withLock { current in
                    guard current == nil else { return false }
                    current = descriptor
                    return true
                }
            }

            /// Answers under the lock, so a descriptor closed (and its number reused) meanwhile is never written.
            func respond(_ id: UInt64, allow: Bool, error: Int32 = EPERM) {
                fd.withLock { current in
                    guard let current else { return }
                    _ = pk_seccomp_notif_respond(current, id, allow ? 1 : 0, error)
                }
            }

            /// Closes the notify fd: any syscall still waiting fails with ENOSYS and later ones too.
            func close(epoll: Int32) {
                fd.withLock { current in
                    guard let descriptor = current else { return }
                    pk_epoll_remove(epoll, descriptor)
                    Glibc.close(descriptor)
                    current = nil
                }
            }
        }

        private struct State {
            var bySession: [SessionID: Registration] = [:]
            var byFD: [Int32: Registration] = [:]
        }

        /// The socket the runtime connects to (`linux.seccomp.listenerPath`).
        public let socketPath: String
        private let epollFD: Int32
        private let listenFD: Int32
        private let state = Mutex(State())
        private let logger: Logger
        private static let execve = pk_sys_execve()
        private static let execveat = pk_sys_execveat()

        private static let instance = Mutex<ExecGuardListener?>(nil)

        /// The listener, if one was started.
        public static var ifStarted: ExecGuardListener? { instance.withLock { $0 } }

        /// The listener of this process, started on first use.
        public static func shared(logger: Logger) throws -> ExecGuardListener {
            try instance.withLock { (current: inout ExecGuardListener?) throws -> ExecGuardListener in
                if let current { return current }
                let listener = try ExecGuardListener(
                    socketPath: "/run/paddock/exec-guard-\(getpid()).sock", logger: logger)
                current = listener
                return listener
            }
        }

        private init(socketPath: String, logger: Logger) throws {
            self.socketPath = socketPath
            self.logger = logger
            let directory = String(socketPath[..<(socketPath.lastIndex(of: "/") ?? socketPath.endIndex)])
            try Syscalls.makeDirectory(directory, mode: 0o700)
            Self.removeStaleSockets(in: directory)
            unlink(socketPath)
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                throw PaddockError.internal("creating the exec guard socket: \(Syscalls.errnoText())")
            }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(socketPath.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
                Glibc.close(fd)
                throw PaddockError.internal("the exec guard socket path \(socketPath) is too long")
            }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, b) in bytes.enumerated() { raw[i] = b }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard bound == 0, chmod(socketPath, 0o600) == 0, listen(fd, 64) == 0 else {
                let message = Syscalls.errnoText()
                Glibc.close(fd)
                throw PaddockError.internal("listening on \(socketPath) for the exec guard: \(message)")
            }
            listenFD = fd
            epollFD = pk_epoll_create()
            guard epollFD >= 0 else { throw PaddockError.internal("epoll_create1: \(Syscalls.errnoText())") }
            pk_epoll_add(epollFD, fd)
            Thread.detachNewThread { [self] in self.loop() }
        }

        /// The process a thread belongs to (`Tgid:` in /proc/TID/status): runc's init is multi-threaded.
        private static func threadGroup(of tid: Int32) -> Int32? {
            guard let status = Syscalls.readFile("/proc/\(tid)/status", limit: 4096) else { return nil }
            for line in status.split(separator: "\n") where line.hasPrefix("Tgid:") {
                return Int32(line.dropFirst(5).trimmingCharacters(in: .whitespaces))
            }
            return nil
        }

        /// Sockets of servers that are gone (their pid in the name no longer runs).
        private static func removeStaleSockets(in directory: String) {
            for name in Syscalls.listDirectory(directory) where name.hasPrefix("exec-guard-") {
                let pid = name.dropFirst("exec-guard-".count).prefix { $0.isNumber }
                if let pid = Int32(pid), kill(pid, 0) != 0, errno == ESRCH { unlink("\(directory)/\(name)") }
            }
        }

        /// Guards a sandbox that is about to start. Call before the runtime runs it.
        public func register(_ session: SessionID, guardrail: any ExecGuard) {
            let registration = Registration(session: session, guardrail: guardrail)
            let old = state.withLock { state -> Registration? in
                let old = state.bySession[session]
                state.bySession[session] = registration
                return old
            }
            if let old { forget(old) }
        }

        /// Stops guarding a sandbox (it is being destroyed).
        public func unregister(_ session: SessionID) {
            let registration = state.withLock { $0.bySession.removeValue(forKey: session) }
            if let registration { forget(registration) }
        }

        /// Whether the runtime handed over the sandbox's notify fd (its execs are being guarded).
        public func isGuarding(_ session: SessionID) -> Bool {
            state.withLock { $0.bySession[session] }?.notifyFD != nil
        }

        private func forget(_ registration: Registration) {
            if let fd = registration.notifyFD { _ = state.withLock { $0.byFD.removeValue(forKey: fd) } }
            registration.close(epoll: epollFD)
        }

        // MARK: The thread

        private func loop() {
            var fds = [Int32](repeating: -1, count: 64)
            var events = [Int32](repeating: 0, count: 64)
            while true {
                let n = pk_epoll_wait(epollFD, &fds, &events, 64, -1)
                if n < 0 {
                    if errno == EINTR { continue }
                    logger.critical("the exec guard stopped: epoll_wait failed: \(Syscalls.errnoText())")
                    return
                }
                for index in 0..<Int(n) {
                    let fd = fds[index]
                    let event = events[index]
                    if fd == listenFD {
                        acceptRuntime()
                        continue
                    }
                    guard let registration = state.withLock({ $0.byFD[fd] }) else { continue }
                    if event & PK_EPOLL_IN != 0 {
                        serve(registration, fd: fd)
                    } else if event & PK_EPOLL_HANGUP != 0 {
                        // Every process of the sandbox is gone.
                        state.withLock { state in
                            state.byFD[fd] = nil
                            if state.bySession[registration.session] === registration {
                                state.bySession[registration.session] = nil
                            }
                        }
                        registration.close(epoll: epollFD)
                    }
                }
            }
        }

        /// Takes the runtime's connection: the container state (JSON) with the notify fd attached.
        private func acceptRuntime() {
            let connection = accept(listenFD, nil, nil)
            guard connection >= 0 else { return }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            defer { Glibc.close(connection) }
            // runc writes everything in one message and closes; a stuck peer must not stall every sandbox.
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var payload: [UInt8] = []
            var notifyFD: Int32 = -1
            var buffer = [UInt8](repeating: 0, count: 65536)
            while payload.count < 1 << 20 {
                var fd: Int32 = -1
                let n = buffer.withUnsafeMutableBytes { pk_recv_with_fd(connection, $0.baseAddress, $0.count, &fd) }
                if fd >= 0 {
                    if notifyFD >= 0 { Glibc.close(notifyFD) }
                    notifyFD = fd
                }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                payload += buffer[0..<n]
            }
            guard notifyFD >= 0 else {
                logger.warning("the runtime connected to the exec guard without a notify fd")
                return
            }
            struct ContainerState: Decodable {
                var pid: Int32?
                var metadata: String?
            }
            let decoded = try? JSONDecoder().decode(ContainerState.self, from: Data(payload))
            guard let text = decoded?.metadata, let session = SessionID(rawValue: text),
                let registration = state.withLock({ $0.bySession[session] }), registration.attach(notifyFD)
            else {
                // Unknown sandbox: closing the fd makes its execs fail (ENOSYS) rather than run unchecked.
                logger.warning(
                    "exec guard: notify fd for an unknown sandbox",
                    metadata: ["session.id": "\(decoded?.metadata ?? "-")"])
                Glibc.close(notifyFD)
                return
            }
            registration.initPID.withLock { $0 = decoded?.pid }
            state.withLock { $0.byFD[notifyFD] = registration }
            pk_epoll_add(epollFD, notifyFD)
        }

        /// One held-back syscall: inspect it here (the process is blocked, its memory stable), decide elsewhere.
        private func serve(_ registration: Registration, fd: Int32) {
            // RECV blocks when nothing is pending; an event read for a descriptor number that was closed and reused
            // meanwhile must not stall every sandbox.
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 0) == 1, ready.revents & Int16(POLLIN) != 0 else { return }
            var notification = pk_seccomp_notification()
            guard pk_seccomp_notif_recv(fd, &notification) == 0 else { return }  // ENOENT: the caller was killed
            let id = notification.id
            guard notification.nr == Self.execve || notification.nr == Self.execveat else {
                registration.respond(id, allow: true)
                return
            }
            let pid = Int32(bitPattern: notification.pid)
            let inspection = ExecInspector.inspect(
                pid: pid, execveat: notification.nr == Self.execveat, args: notification.args,
                references: registration.references)
            // What was read belongs to this syscall only if it is still waiting: a recycled pid would have given
            // another process's memory.
            guard pk_seccomp_notif_id_valid(fd, id) == 0 else { return }
            let attempt: ExecAttempt
            switch inspection {
            case .failed(let error):
                // The kernel would fail the exec with the same error (no such file, …); failing it here closes the
                // window in which the file could appear between this check and the kernel's own lookup.
                registration.respond(id, allow: false, error: error)
                return
            case .inspected(let invocation, let cwd):
                attempt = ExecAttempt(session: registration.session, pid: pid, invocation: invocation, cwd: cwd)
            }
            // The sandbox starting: runc exec'ing paddock-init as the container's first process.
            let isInitStart = registration.initPID.withLock { initPID -> Bool in
                guard let expected = initPID, expected == pid || Self.threadGroup(of: pid) == expected,
                    attempt.invocation.executablePaths.first == SandboxLayout.initPath
                else { return false }
                initPID = nil
                return true
            }
            if isInitStart {
                registration.respond(id, allow: true)
                return
            }
            Task {
                let allow = await registration.guardrail.decide(attempt)
                registration.respond(id, allow: allow)
            }
        }
    }
#endif
