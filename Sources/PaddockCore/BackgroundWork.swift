import Synchronization

/// Work that outlives the call that started it — an agent run, an approval's deadline, the gateway's audit
/// writer — owned by one long-running task instead of a scatter of unstructured `Task`s, so that shutting the
/// server down ends all of it in one place: the server's service group runs `run()`, and its cancellation
/// cancels every job still going. Tests run it in their stack's scope the same way.
public final class BackgroundWork: Sendable {
    private struct Job: Sendable {
        let work: @Sendable () async -> Void
        let handle: BackgroundJob
    }

    private struct State {
        var queue: [Job] = []
        /// `run()` waiting for the next job.
        var waiter: CheckedContinuation<Job?, Never>?
        var stopped = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Starts `work` under the owner's task. Work started before `run()` begins waits for it; work started
    /// after the owner has stopped is not run (its handle ends at once) — the server is stopping, and what
    /// the work was for is recovered on the next start.
    @discardableResult
    public func start(_ name: String, _ work: @escaping @Sendable () async -> Void) -> BackgroundJob {
        let job = Job(work: work, handle: BackgroundJob(name: name))
        let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Job?, Never>?) in
            if state.stopped { return (false, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (true, waiter)
            }
            state.queue.append(job)
            return (true, nil)
        }
        if !accepted { job.handle.finish() }
        waiter?.resume(returning: job)
        return job.handle
    }

    /// Runs every job started, each in its own child task, until the calling task is cancelled; then cancels
    /// the jobs still going and returns once they have all ended. Call it once.
    public func run() async {
        await withDiscardingTaskGroup { group in
            while let job = await next() {
                group.addTask {
                    await job.work()
                    job.handle.finish()
                }
            }
        }
    }

    private func next() async -> Job? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> (Job?, Bool) in
                    if !state.queue.isEmpty { return (state.queue.removeFirst(), true) }
                    if state.stopped { return (nil, true) }
                    state.waiter = continuation
                    return (nil, false)
                }
                if ready.1 { continuation.resume(returning: ready.0) }
            }
        } onCancel: {
            stop()
        }
    }

    /// No job starts from now on; the ones queued but not started are released.
    private func stop() {
        let (waiter, unstarted) = state.withLock { state -> (CheckedContinuation<Job?, Never>?, [Job]) in
            state.stopped = true
            defer { (state.waiter, state.queue) = (nil, []) }
            return (state.waiter, state.queue)
        }
        waiter?.resume(returning: nil)
        for job in unstarted { job.handle.finish() }
    }
}

/// One job of `BackgroundWork`: `ended()` waits until it has run to its end (or was never started because the
/// owner had stopped).
public final class BackgroundJob: Sendable {
    public let name: String

    private struct State {
        var done = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    init(name: String) { self.name = name }

    public var isDone: Bool { state.withLock { $0.done } }

    /// Returns when the job has ended, or at once when the waiting task is cancelled (the job goes on): a wait
    /// bounded by `withDeadline` really ends at its deadline.
    public func ended() async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.done || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    func finish() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.done = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Runs `write` to its end even when the calling task is cancelled. For the short bookkeeping a shutdown must not
/// lose — a run's last status, an outbox message marked delivered (else it is posted again at the next start):
/// the shutdown cancels the work that does it, and the store refuses a cancelled task's write. The write runs in a
/// task of its own, which keeps the caller's task-locals (its trace) but not its cancellation.
public func evenWhenCancelled<T: Sendable>(_ write: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task { try await write() }.value
}
