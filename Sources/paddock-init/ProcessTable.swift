import Glibc

/// Supervised processes: the running ones, and detached ones that exited while nobody was attached.
struct ProcessTable {
    /// How many exited-and-unclaimed detached processes are remembered, and how much of their output.
    static let finishedLimit = 16
    static let finishedHistoryLimit = 4 * 1024 * 1024

    private(set) var running: [pid_t: SupervisedProcess] = [:]
    private var finished: [SupervisedProcess] = []

    mutating func insert(_ process: SupervisedProcess) {
        // A recycled pid: whatever exited under this number before is no longer reachable.
        finished.removeAll { $0.pid == process.pid }
        running[process.pid] = process
    }

    /// A running process, or an exited detached one still waiting for its client.
    func find(_ pid: pid_t) -> SupervisedProcess? {
        running[pid] ?? finished.first { $0.pid == pid }
    }

    /// Moves a reaped process out of the running set; with `keep` its exit and output stay for `attach`,
    /// the oldest such entries going first once there are too many or they hold too much output.
    mutating func retire(_ process: SupervisedProcess, keep: Bool) {
        running[process.pid] = nil
        guard keep else { return }
        finished.append(process)
        while finished.count > ProcessTable.finishedLimit
            || finished.reduce(0, { $0 + ($1.history?.byteCount ?? 0) }) > ProcessTable.finishedHistoryLimit
        {
            finished.removeFirst()
        }
    }

    /// Forgets an exited process whose status has been delivered.
    mutating func forget(_ pid: pid_t) {
        finished.removeAll { $0.pid == pid }
    }
}
