import CPaddockShim
import Glibc
import PaddockInitProtocol

/// The single-threaded event loop: one `poll(2)` over the listening socket, the signalfd, every client
/// connection and every supervised process's pipes. Nothing blocks except `poll` itself.
final class Supervisor {
    /// Output left in a reaped process's pipes is drained up to this much, so a background grandchild
    /// that keeps writing cannot postpone `exited`.
    static let drainBudget = 4 * 1024 * 1024
    /// Retained output per detached process.
    static let historyLimit = 1024 * 1024
    /// Queued stdin per process above which its connection is no longer read.
    static let stdinHighWater = 1024 * 1024
    /// How long supervised processes get between SIGTERM and SIGKILL when init is told to stop.
    static let shutdownGraceMilliseconds: Int64 = 2000
    /// After SIGKILL, how long init still waits to reap and report the killed processes.
    static let killAllowanceMilliseconds: Int64 = 500

    /// The control socket; -1 while quiesced for a checkpoint (see `quiesce`).
    var listener: Int32
    let socketPath: String
    let signals: Int32
    var connections: [ConnectionID: Connection] = [:]
    var processes = ProcessTable()
    var nextConnectionID: ConnectionID = 1
    /// One buffer for every read; its contents are copied out before the next read.
    var readBuffer = [UInt8](repeating: 0, count: wireChunkSize)
    var shutdownDeadline: Int64?
    /// The grace period ended and SIGKILL went out.
    var killed = false
    /// accept(2) pauses briefly after running out of descriptors instead of spinning on the listener.
    var acceptResumesAt: Int64 = 0
    /// Relays the sandbox's proxy port to the egress gateway, when init was given one.
    var egress: EgressRelay?
    /// The sudo socket, once the host enabled it (`enableSudo`).
    var sudoListener: Int32?
    /// Sudo was enabled when init quiesced for a checkpoint: its socket comes back with the control socket.
    var sudoQuiesced = false

    init(listener: Int32, socketPath: String, signals: Int32) {
        self.listener = listener
        self.socketPath = socketPath
        self.signals = signals
    }

    /// What a `pollfd` slot belongs to.
    private enum PollTarget {
        case listener
        case sudoListener
        case signals
        case connection(ConnectionID)
        case output(pid_t, OutputStream)
        case input(pid_t)
        case relay(ConnectionID)
        case watcher(ConnectionID)
        case egressListener
        case egress
    }

    private struct PollSet {
        var descriptors: [pollfd] = []
        var targets: [PollTarget] = []

        mutating func watch(_ fd: Int32, _ events: Int32, _ target: PollTarget) {
            descriptors.append(pollfd(fd: fd, events: Int16(events), revents: 0))
            targets.append(target)
        }
    }

    /// Serves until a shutdown completes; returns init's exit status.
    func run() -> Int32 {
        var busy = false
        while true {
            if let status = exitStatusIfStopped() { return status }
            var set = pollSet()
            let timeout = pollTimeout(busy: busy)
            let ready = retryingEINTR { poll(&set.descriptors, nfds_t(set.descriptors.count), timeout) }
            if ready < 0 {
                diagnose("poll failed: \(errnoDescription(errno))")
                return 1
            }
            for (slot, target) in zip(set.descriptors, set.targets) where slot.revents != 0 {
                handle(target, fd: slot.fd, events: Int32(slot.revents))
            }
            busy = serviceConnections()
        }
    }

    private func pollSet() -> PollSet {
        var set = PollSet()
        if monotonicMilliseconds() >= acceptResumesAt {
            if listener >= 0 { set.watch(listener, POLLIN, .listener) }
            if let sudoListener { set.watch(sudoListener, POLLIN, .sudoListener) }
        }
        for connection in connections.values {
            var events: Int32 = 0
            if wantsInput(connection) { events |= POLLIN }
            if !connection.outgoing.isEmpty { events |= POLLOUT }
            // Watched even with no events: poll still reports POLLHUP when the client goes away.
            set.watch(connection.fd, events, .connection(connection.id))
            if case .relay(let relay) = connection.operation {
                var relayEvents: Int32 = 0
                if !connection.isBackedUp { relayEvents |= POLLIN }
                if !relay.toTarget.isEmpty { relayEvents |= POLLOUT }
                set.watch(relay.fd, relayEvents, .relay(connection.id))
            }
            if case .watching(let watcher) = connection.operation, !connection.isBackedUp {
                set.watch(watcher.fd, POLLIN, .watcher(connection.id))
            }
        }
        for process in processes.running.values {
            if !isThrottled(process) {
                for stream in [OutputStream.stdout, .stderr] {
                    if let fd = process.outputDescriptor(stream) { set.watch(fd, POLLIN, .output(process.pid, stream)) }
                }
            }
            if let fd = process.inputDescriptor, !process.pendingStdin.isEmpty {
                set.watch(fd, POLLOUT, .input(process.pid))
            }
        }
        if let egress {
            set.watch(egress.listener, POLLIN, .egressListener)
            for (fd, events) in egress.interests() { set.watch(fd, events, .egress) }
        }
        // Last, so a child's final output read in this round is forwarded before its exit.
        set.watch(signals, POLLIN, .signals)
        return set
    }

    private func pollTimeout(busy: Bool) -> Int32 {
        if busy { return 0 }
        let now = monotonicMilliseconds()
        var wake: Int64?
        if let deadline = shutdownDeadline { wake = deadline }
        if acceptResumesAt > now { wake = min(wake ?? acceptResumesAt, acceptResumesAt) }
        guard let wake else { return -1 }
        return Int32(clamping: max(wake - now, 0))
    }

    private func handle(_ target: PollTarget, fd: Int32, events: Int32) {
        switch target {
        case .listener: acceptConnections(from: listener, restricted: false)
        case .sudoListener:
            if let sudoListener { acceptConnections(from: sudoListener, restricted: true) }
        case .signals: handleSignals()
        case .connection(let id):
            guard let connection = connections[id], connection.fd == fd else { return }
            handleConnectionEvents(connection, events: events)
        case .output(let pid, let stream):
            guard let process = processes.running[pid], process.outputDescriptor(stream) == fd else { return }
            _ = readOutput(of: process, stream: stream)
        case .input(let pid):
            guard let process = processes.running[pid], process.inputDescriptor == fd else { return }
            writeStdin(of: process)
        case .relay(let id):
            guard let connection = connections[id], case .relay(let relay) = connection.operation, relay.fd == fd
            else { return }
            handleRelayEvents(relay, on: connection, events: events)
        case .watcher(let id):
            guard let connection = connections[id], case .watching(let watcher) = connection.operation,
                watcher.fd == fd
            else { return }
            forwardEvents(of: watcher, to: connection)
        case .egressListener: egress?.acceptConnections()
        case .egress: egress?.handle(fd: fd, events: events)
        }
    }

    // MARK: - Connections

    private func acceptConnections(from listener: Int32, restricted: Bool) {
        for _ in 0..<64 {
            let fd = retryingEINTR { pk_accept_nonblocking(listener) }
            guard fd >= 0 else {
                let code = errno
                if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM {
                    diagnose("cannot accept a connection: \(errnoDescription(code))")
                    acceptResumesAt = monotonicMilliseconds() + 100
                }
                return
            }
            let connection = Connection(id: nextConnectionID, fd: fd, restricted: restricted)
            nextConnectionID += 1
            connections[connection.id] = connection
        }
    }

    private func wantsInput(_ connection: Connection) -> Bool {
        guard !connection.inputClosed else { return false }
        if case .relay(let relay) = connection.operation { return relay.toTarget.count < Connection.highWater }
        if case .process(let pid) = connection.operation, let process = processes.find(pid),
            process.pendingStdin.count >= Supervisor.stdinHighWater
        {
            return false
        }
        return true
    }

    private func handleConnectionEvents(_ connection: Connection, events: Int32) {
        if events & POLLNVAL != 0 {
            closeConnection(connection)
            return
        }
        if events & POLLOUT != 0 {
            flush(connection)
            guard connections[connection.id] != nil else { return }
        }
        let hangup = events & (POLLHUP | POLLERR) != 0
        guard events & POLLIN != 0 || hangup else { return }
        if connection.inputClosed {
            if hangup { closeConnection(connection) }
            return
        }
        readRequests(from: connection, hangup: hangup)
    }

    /// Reads what the client sent and acts on each complete frame.
    private func readRequests(from connection: Connection, hangup: Bool) {
        for _ in 0..<16 {
            let count = readBuffer.withUnsafeMutableBytes { raw in
                retryingEINTR { read(connection.fd, raw.baseAddress, raw.count) }
            }
            if count < 0 {
                let code = errno
                if code == EAGAIN || code == EWOULDBLOCK { return }
                closeConnection(connection)
                return
            }
            if count == 0 {
                clientFinishedSending(connection, hangup: hangup)
                return
            }
            // Once the reply is queued, input is read only to be dropped: closing a unix socket with
            // unread data makes the client's next read fail with ECONNRESET instead of seeing EOF.
            if connection.isFinished { continue }
            if case .relay(let relay) = connection.operation {
                relay.toTarget.append(Array(readBuffer[0..<count]))
                if !relay.flushToTarget() { closeConnection(connection) }
                return
            }
            connection.decoder.append(readBuffer[0..<count])
            while connections[connection.id] != nil, !connection.isFinished {
                let message: WireMessage
                do {
                    guard let payload = try connection.decoder.next() else { break }
                    message = try WireMessage(decoding: payload)
                } catch {
                    // A malformed frame ends this connection only.
                    diagnose("closing a connection: \(error)")
                    closeConnection(connection)
                    return
                }
                handleMessage(message, on: connection)
            }
            guard connections[connection.id] != nil, wantsInput(connection) else { return }
        }
    }

    /// EOF from the client. A full close (POLLHUP) ends the connection; a half close (shutdown of its
    /// write side) only ends what needed more input, so replies still in flight are delivered.
    private func clientFinishedSending(_ connection: Connection, hangup: Bool) {
        connection.inputClosed = true
        if hangup {
            closeConnection(connection)
            return
        }
        switch connection.operation {
        case .awaitingRequest:
            closeConnection(connection)
        case .writingFile(let writer):
            writer.abort()
            connection.fail(
                InitFailure(.invalidArgument, errno: EPIPE, "upload of '\(writer.path)' ended before its end marker"))
        case .discardingUntilEnd:
            connection.operation = .finished
        case .relay(let relay):
            relay.hostFinished = true
            if !relay.flushToTarget() { closeConnection(connection) }
        case .watching:
            closeConnection(connection)
        case .process, .readingFile, .finished:
            break
        }
    }

    private func flush(_ connection: Connection) {
        guard !connection.outgoing.isEmpty else { return }
        if connection.outgoing.write(to: connection.fd) != nil { closeConnection(connection) }
    }

    /// Lets go of whatever the connection's operation holds, then closes it. A non-detached process
    /// loses its client here and is killed: a vanished host must not leave work behind.
    func closeConnection(_ connection: Connection) {
        switch connection.operation {
        case .process(let pid):
            if let process = processes.find(pid), process.connection == connection.id {
                process.connection = nil
                if !process.detached && process.exit == nil { process.signalGroup(SIGKILL) }
            }
        case .readingFile(let reader): reader.close()
        case .writingFile(let writer): writer.abort()
        case .relay(let relay): closeDescriptor(relay.fd)
        case .watching(let watcher): watcher.close()
        case .awaitingRequest, .discardingUntilEnd, .finished: break
        }
        connection.operation = .finished
        discardUnreadInput(connection)
        closeDescriptor(connection.fd)
        connections[connection.id] = nil
    }

    /// Drops what the client sent that nobody will read (bounded), so the close is a clean EOF for it.
    private func discardUnreadInput(_ connection: Connection) {
        guard !connection.inputClosed else { return }
        for _ in 0..<16 {
            let count = readBuffer.withUnsafeMutableBytes { raw in
                retryingEINTR { read(connection.fd, raw.baseAddress, raw.count) }
            }
            if count <= 0 { return }
        }
    }

    /// After each round: stream file chunks, write queued bytes, close connections that are done.
    /// Returns true when a file transfer could continue at once (poll must not sleep).
    private func serviceConnections() -> Bool {
        var busy = false
        for connection in Array(connections.values) {
            if case .readingFile(let reader) = connection.operation { pumpFile(reader, to: connection) }
            flush(connection)
            guard connections[connection.id] != nil else { continue }
            if connection.isFinished && connection.outgoing.isEmpty {
                closeConnection(connection)
            } else if case .readingFile = connection.operation, !connection.isBackedUp {
                busy = true
            }
        }
        return busy
    }

    /// Queues file chunks until the connection's buffer is full (at most 16 chunks per round, so other
    /// clients get their turn).
    private func pumpFile(_ reader: FileReader, to connection: Connection) {
        for _ in 0..<16 where !connection.isBackedUp {
            do throws(InitFailure) {
                guard let chunk = try reader.next(into: &readBuffer) else {
                    reader.close()
                    connection.finish(with: .end)
                    return
                }
                connection.send(.data(chunk))
            } catch {
                reader.close()
                connection.fail(error)
                return
            }
        }
    }

    /// Bytes between a dialled port and the host. When the port closes, what it sent is delivered and
    /// the host's connection is closed.
    private func handleRelayEvents(_ relay: PortRelay, on connection: Connection, events: Int32) {
        if events & POLLOUT != 0 && !relay.flushToTarget() {
            closeConnection(connection)
            return
        }
        guard events & (POLLIN | POLLHUP | POLLERR) != 0 else { return }
        for _ in 0..<16 where !connection.isBackedUp {
            let count = readBuffer.withUnsafeMutableBytes { raw in
                retryingEINTR { read(relay.fd, raw.baseAddress, raw.count) }
            }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            if count <= 0 {
                closeDescriptor(relay.fd)
                connection.operation = .finished
                return
            }
            connection.outgoing.append(Array(readBuffer[0..<count]))
        }
    }

    /// What a watched directory reported, as one message per read; `end` once the directory is gone. `all`: read
    /// until inotify has nothing more, even past the connection's high-water mark (inotify's own queue bounds it).
    func forwardEvents(of watcher: DirectoryWatcher, to connection: Connection, all: Bool = false) {
        for _ in 0..<(all ? 1024 : 16) where all || !connection.isBackedUp {
            guard let events = watcher.read() else { break }
            if !events.isEmpty { connection.send(.fileEvents(events)) }
        }
        if watcher.rootGone {
            watcher.close()
            connection.finish(with: .end)
        }
    }

    // MARK: - Signals and shutdown

    private func handleSignals() {
        var reap = false
        while true {
            let signal = retryingEINTR { pk_signalfd_read(signals) }
            guard signal > 0 else { break }
            switch signal {
            case SIGCHLD: reap = true
            case SIGUSR2: listenAgain()
            default: beginShutdown()
            }
        }
        if reap { reapChildren() }
    }

    /// After a restore from a checkpoint: the control socket comes back (the host waits for its hello).
    private func listenAgain() {
        guard listener < 0 else { return }
        guard let fd = Startup.listen(on: socketPath) else {
            // Nothing can reach init without its socket; exiting lets the host see the sandbox as lost.
            diagnose("cannot listen again after a restore; stopping")
            beginShutdown()
            return
        }
        listener = fd
        if sudoQuiesced {
            sudoQuiesced = false
            do { try enableSudo() } catch { diagnose("sudo stays off after a restore: \(error.message)") }
        }
    }

    /// SIGTERM to every supervised group now, SIGKILL when the grace period ends; init keeps serving
    /// meanwhile so the host can still collect output and exit statuses.
    private func beginShutdown() {
        guard shutdownDeadline == nil else { return }
        shutdownDeadline = monotonicMilliseconds() + Supervisor.shutdownGraceMilliseconds
        for process in processes.running.values { process.signalGroup(SIGTERM) }
    }

    /// 0 once every supervised process is gone and its client has its last bytes, or when the grace
    /// period and a short allowance after SIGKILL (to report those exits too) have run out.
    private func exitStatusIfStopped() -> Int32? {
        guard let deadline = shutdownDeadline else { return nil }
        let unsent = connections.values.contains { !$0.outgoing.isEmpty }
        if processes.running.isEmpty && !unsent { return 0 }
        guard monotonicMilliseconds() >= deadline else { return nil }
        if killed { return 0 }
        for process in processes.running.values { process.signalGroup(SIGKILL) }
        killed = true
        shutdownDeadline = deadline + Supervisor.killAllowanceMilliseconds
        return nil
    }
}
