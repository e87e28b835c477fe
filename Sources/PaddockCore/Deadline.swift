import Synchronization

/// Runs `body`, giving up after `limit`: the body is cancelled and `timeout` is thrown. For waits on something
/// outside this process (a sandbox's init, a runtime) that must never hold up its caller for ever, such as
/// recovery at start-up.
public func withDeadline<T: Sendable>(
    _ limit: Duration, _ what: @autoclosure () -> String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let description = what()
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw PaddockError(.timeout, "\(description) did not finish within \(DurationText.format(limit))")
        }
        return value
    }
}

/// Whether `task` finishes within `limit`. Returns at whichever comes first and never waits on the task past the
/// limit: the task runs on, for its caller to use or close later. (`withDeadline` cannot do this for a task it did
/// not start: a task group waits for every child, and awaiting another task's result ignores cancellation.)
public func finishes<T: Sendable, Failure: Error>(_ task: Task<T, Failure>, within limit: Duration) async -> Bool {
    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
        // Whichever side answers first resumes; the other finds nothing left to resume.
        let waiter = Mutex<CheckedContinuation<Bool, Never>?>(continuation)
        let answer: @Sendable (Bool) -> Void = { finished in
            waiter.withLock { pending in
                pending?.resume(returning: finished)
                pending = nil
            }
        }
        let timer = Task {
            // The limit itself, not a poll: cancelled as soon as the task answers first.
            do { try await Task.sleep(for: limit) } catch { return }
            answer(false)
        }
        Task {
            _ = await task.result
            timer.cancel()
            answer(true)
        }
    }
}
