import Glibc
import PaddockInitProtocol

extension Supervisor {
    /// A process whose client has more than `Connection.highWater` unsent bytes is not read: its pipe
    /// fills and the child blocks in write — real backpressure with bounded memory. Processes nobody is
    /// attached to are always read (into their history, or discarded).
    func isThrottled(_ process: SupervisedProcess) -> Bool {
        guard let id = process.connection, let connection = connections[id] else { return false }
        return connection.isBackedUp
    }

    enum ReadOutcome {
        case data(Int)
        case empty
        case closed
    }

    /// One non-blocking read from a process's stdout/stderr (or pty), forwarded to its client.
    func readOutput(of process: SupervisedProcess, stream: OutputStream) -> ReadOutcome {
        guard let fd = process.outputDescriptor(stream) else { return .closed }
        let count = readBuffer.withUnsafeMutableBytes { raw in retryingEINTR { read(fd, raw.baseAddress, raw.count) } }
        if count > 0 {
            deliver(Array(readBuffer[0..<count]), from: process, stream: stream)
            return .data(count)
        }
        if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .empty }
        // EOF on a pipe; EIO on a pty master once no descriptor of the slave is left open.
        process.closeOutput(stream)
        return .closed
    }

    private func deliver(_ bytes: [UInt8], from process: SupervisedProcess, stream: OutputStream) {
        process.history?.record(stream, bytes)
        if let id = process.connection, let connection = connections[id] {
            connection.send(stream.message(bytes))
        }
    }

    func writeStdin(of process: SupervisedProcess) {
        guard let fd = process.inputDescriptor else { return }
        if process.pendingStdin.write(to: fd) != nil {
            // EPIPE: the child closed its stdin. Whatever is queued can never be delivered.
            process.pendingStdin.removeAll()
            process.closeStdinPipe()
        }
        if process.pendingStdin.isEmpty && process.stdinCloseRequested { process.closeStdinPipe() }
    }

    /// Reaps every child that has exited: supervised ones complete, orphans inherited as PID 1 (or as
    /// subreaper) are simply collected.
    func reapChildren() {
        while true {
            var status: Int32 = 0
            let pid = retryingEINTR { waitpid(-1, &status, WNOHANG) }
            guard pid > 0 else { return }
            if let process = processes.running[pid] {
                complete(process, exit: ExitStatus(waitStatus: status))
            }
        }
    }

    /// Drains what the process left in its pipes, closes them and reports the exit. Output a
    /// background grandchild writes later is not waited for.
    private func complete(_ process: SupervisedProcess, exit: ExitStatus) {
        var budget = Supervisor.drainBudget
        for stream in [OutputStream.stdout, .stderr] {
            drain: while budget > 0 {
                switch readOutput(of: process, stream: stream) {
                case .data(let count): budget -= count
                case .empty, .closed: break drain
                }
            }
        }
        process.closeAll()
        process.exit = exit
        if let id = process.connection, let connection = connections[id] {
            process.connection = nil
            connection.finish(with: .exited(code: exit.code, signal: exit.signal))
        }
        // A detached process's exit stays available to `attach` even if a client was attached: it may
        // have closed right after reading `started`, with `exited` still unread in its socket.
        processes.retire(process, keep: process.detached)
    }
}
