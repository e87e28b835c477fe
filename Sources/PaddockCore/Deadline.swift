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
