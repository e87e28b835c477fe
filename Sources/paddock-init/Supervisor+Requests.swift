import CPaddockShim
import Glibc
import PaddockInitProtocol

extension Supervisor {
    /// Routes a decoded frame by what the connection is doing.
    func handleMessage(_ message: WireMessage, on connection: Connection) {
        switch connection.operation {
        case .awaitingRequest:
            handleRequest(message, on: connection)
        case .process(let pid):
            handleStreamControl(message, pid: pid, on: connection)
        case .writingFile(let writer):
            handleUpload(message, writer: writer, on: connection)
        case .discardingUntilEnd:
            if message == .end { connection.operation = .finished }
        case .watching(let watcher):
            // Any frame on a watch asks for what inotify has queued now, then an empty batch as the marker.
            forwardEvents(of: watcher, to: connection, all: true)
            if !connection.isFinished { connection.send(.fileEvents([])) }
        case .readingFile, .finished, .relay:
            break  // nothing is expected from the client any more (relayed bytes never reach here)
        }
    }

    /// The first frame of a connection from the sudo socket: a command to run as the sandbox's root, tied to the
    /// connection (it dies with its client, never detached). Nothing else — no files, ports or other processes.
    private func handleSudoRequest(_ request: WireMessage, on connection: Connection) {
        guard case .spawn(var spawn) = request else {
            connection.fail(
                InitFailure(
                    .permissionDenied, errno: EPERM, "the sudo socket only runs commands; nothing else is served"))
            return
        }
        spawn.user = WireUser(uid: 0, gid: 0)
        spawn.detached = false
        spawn.tag = "sudo"
        do throws(InitFailure) { try start(spawn, on: connection) } catch { connection.fail(error) }
    }

    /// Opens the sudo socket (once; enabling it again is a no-op). It lives in /tmp: the skeleton's other
    /// directories belong to the host's root, which the sandbox's root cannot write to, and /tmp's sticky bit keeps
    /// the user from removing or replacing root's socket once it is there (a socket the user left at that path
    /// first is replaced; any other file there leaves sudo off).
    func enableSudo() throws(InitFailure) {
        guard sudoListener == nil else { return }
        guard let fd = Startup.listen(on: sudoSocketPath, mode: 0o666) else {
            throw InitFailure(.internal, errno: EIO, "cannot open the sudo socket at \(sudoSocketPath); see init's log")
        }
        sudoListener = fd
    }

    /// The first frame of a connection.
    private func handleRequest(_ request: WireMessage, on connection: Connection) {
        if connection.restricted {
            handleSudoRequest(request, on: connection)
            return
        }
        do throws(InitFailure) {
            switch request {
            case .hello:
                connection.finish(with: .helloReply(version: wireProtocolVersion, pid: getpid()))
            case .spawn(let spawn):
                try start(spawn, on: connection)
            case .attach(let pid):
                try attach(pid, on: connection)
            case .listProcesses:
                let list = processes.running.values.map(\.info).sorted { $0.pid < $1.pid }
                connection.finish(with: .processes(list))
            case .signalProcess(let pid, let signal):
                try checkSignal(signal)
                guard let process = processes.running[pid] else {
                    throw InitFailure(.notFound, errno: ESRCH, "no running supervised process with pid \(pid)")
                }
                process.signalGroup(signal)
                connection.finish(with: .ok)
            case .dial(let port):
                let relay = try PortRelay.dial(port: port)
                connection.send(.ok)
                connection.operation = .relay(relay)
            case .dialHandoff(let port):
                try PortRelay.handOff(port: port, to: connection)
            case .quiesce:
                try quiesce(keeping: connection)
                connection.finish(with: .ok)
            case .readFile(let path, let user):
                connection.operation = .readingFile(try FileReader.open(path, as: user))
            case .writeFile(let path, let mode, let append, let user):
                do throws(InitFailure) {
                    let writer = try FileWriter.open(
                        path, mode: mode, append: append, as: user, uniqueness: connection.id)
                    connection.operation = .writingFile(writer)
                } catch {
                    connection.fail(error)
                    connection.operation = .discardingUntilEnd
                }
            case .stat(let path, let user):
                connection.finish(with: try FileOperations.stat(path, as: user))
            case .listDir(let path, let depth, let user):
                connection.finish(with: try FileOperations.listDir(path, depth: depth, as: user))
            case .makeDir(let path, let user):
                connection.finish(with: try FileOperations.makeDir(path, as: user))
            case .remove(let path, let user):
                connection.finish(with: try FileOperations.remove(path, as: user))
            case .rename(let from, let to, let user):
                connection.finish(with: try FileOperations.rename(from: from, to: to, as: user))
            case .setMetadata(let path, let metadata, let user):
                connection.finish(with: try FileMetadata.replace(path, with: metadata, as: user))
            case .watch(let path, let recursive, let user):
                let watcher = try DirectoryWatcher.open(path, recursive: recursive, as: user)
                connection.send(.ok)
                connection.operation = .watching(watcher)
            case .enableSudo:
                try enableSudo()
                connection.finish(with: .ok)
            case .stdin, .closeStdin, .signal, .resize, .helloReply, .started, .stdout, .stderr, .exited,
                .failure, .ok, .files, .processes, .fileEvents, .data, .end:
                throw InitFailure(
                    .invalidArgument, errno: EINVAL, "the first message of a connection must be a request")
            }
        } catch {
            connection.fail(error)
        }
    }

    private func checkSignal(_ signal: Int32) throws(InitFailure) {
        guard signal >= 0 && signal < 65 else {
            throw InitFailure(.invalidArgument, errno: EINVAL, "\(signal) is not a signal number")
        }
    }

    private func start(_ request: SpawnRequest, on connection: Connection) throws(InitFailure) {
        guard shutdownDeadline == nil else {
            throw InitFailure(.internal, errno: ESHUTDOWN, "paddock-init is shutting down; no new processes")
        }
        let process = try ProcessLauncher.launch(request)
        if request.detached { process.history = OutputHistory(limit: Supervisor.historyLimit) }
        process.connection = connection.id
        processes.insert(process)
        connection.operation = .process(process.pid)
        connection.send(.started(pid: process.pid))
    }

    /// Replays a process's retained output and resumes its stream. The newest client wins (like
    /// `tmux attach -d`): a host that lost track of its old connection can always reconnect.
    private func attach(_ pid: pid_t, on connection: Connection) throws(InitFailure) {
        guard let process = processes.find(pid) else {
            throw InitFailure(.notFound, errno: ESRCH, "no supervised process with pid \(pid)")
        }
        if let previous = process.connection, let old = connections[previous] {
            process.connection = nil
            closeConnection(old)
        }
        process.connection = connection.id
        connection.operation = .process(pid)
        connection.send(.started(pid: pid))
        for chunk in process.history?.retained ?? [] { connection.send(chunk.stream.message(chunk.bytes)) }
        if let exit = process.exit {
            process.connection = nil
            processes.forget(pid)
            connection.finish(with: .exited(code: exit.code, signal: exit.signal))
        }
    }

    /// stdin, closeStdin, signal and resize on a spawn/attach connection.
    private func handleStreamControl(_ message: WireMessage, pid: pid_t, on connection: Connection) {
        guard let process = processes.running[pid], process.connection == connection.id else { return }
        switch message {
        case .stdin(let bytes):
            guard process.acceptsInput, !bytes.isEmpty else { return }
            process.pendingStdin.append(bytes)
            process.lastTerminalInput = bytes.last
        case .closeStdin:
            guard !process.stdinCloseRequested else { return }
            if process.terminal != nil {
                // A terminal has no EOF of its own: ^D ends input at the start of a line, so a partial
                // line needs one ^D to be delivered and another to signal the end.
                let partialLine = process.lastTerminalInput.map { $0 != 0x0a && $0 != 0x04 } ?? false
                process.pendingStdin.append(partialLine ? [0x04, 0x04] : [0x04])
            }
            process.stdinCloseRequested = true
            if process.pendingStdin.isEmpty { process.closeStdinPipe() }
        case .signal(let signal):
            guard signal > 0 && signal < 65 else { return }
            process.signalGroup(signal)
        case .resize(let size):
            guard let terminal = process.terminal, size.rows > 0, size.cols > 0 else { return }
            _ = pk_set_window_size(terminal, size.rows, size.cols)
        default:
            connection.fail(
                InitFailure(.invalidArgument, errno: EINVAL, "unexpected message on the stream of process \(pid)"))
            if !process.detached { process.signalGroup(SIGKILL) }
            process.connection = nil
        }
    }

    /// data/end after writeFile.
    private func handleUpload(_ message: WireMessage, writer: FileWriter, on connection: Connection) {
        switch message {
        case .data(let bytes):
            do throws(InitFailure) {
                try writer.write(bytes)
            } catch {
                writer.abort()
                connection.fail(error)
                connection.operation = .discardingUntilEnd
            }
        case .end:
            do throws(InitFailure) {
                try writer.commit()
                connection.finish(with: .ok)
            } catch {
                connection.fail(error)
            }
        default:
            writer.abort()
            connection.fail(
                InitFailure(.invalidArgument, errno: EINVAL, "expected data or end while writing '\(writer.path)'"))
        }
    }

    /// Lets go of every socket that reaches the host (see `WireMessage.quiesce`), except `current`, which
    /// carries the answer and closes once it is sent.
    private func quiesce(keeping current: Connection) throws(InitFailure) {
        let busy = connections.values.filter { connection in
            guard connection.id != current.id else { return false }
            switch connection.operation {
            case .process(let pid):
                guard let process = processes.running[pid] else { return false }
                return !process.detached
            case .relay, .readingFile, .writingFile: return true
            // A directory watch ends with its connection; its client sees the end and may watch again.
            case .awaitingRequest, .discardingUntilEnd, .finished, .watching: return false
            }
        }
        guard busy.isEmpty else {
            throw InitFailure(
                .resourceExhausted, errno: EBUSY,
                "\(busy.count) connection(s) are in use (an attached command, a port or a file transfer); "
                    + "wait for them to end, then stop the session to disk")
        }
        if listener >= 0 {
            closeDescriptor(listener)
            listener = -1
            _ = unlink(socketPath)
        }
        if let sudo = sudoListener {
            closeDescriptor(sudo)
            sudoListener = nil
            _ = unlink(sudoSocketPath)
            sudoQuiesced = true
        }
        for connection in connections.values where connection.id != current.id { closeConnection(connection) }
        egress?.closeAll()
    }
}
