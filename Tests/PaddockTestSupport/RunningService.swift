import ServiceLifecycle

/// A service of the server's group (the runs' tasks, the warm pools) running for a test, as the server's
/// group would run it; `stop()` cancels it and waits for it to end, as a shutdown does, and throws what the
/// service failed with, if anything.
public final class RunningService: Sendable {
    private let task: Task<Void, any Error>

    public init(_ service: some Service) { task = Task { try await service.run() } }

    public func stop() async throws {
        task.cancel()
        do { try await task.value } catch is CancellationError {}
    }
}

/// Runs `service` while `body` runs, then stops it.
public func withRunning<T: Sendable>(_ service: some Service, _ body: () async throws -> T) async throws -> T {
    let running = RunningService(service)
    let result: T
    do { result = try await body() } catch {
        try? await running.stop()  // the body's error is the one reported
        throw error
    }
    try await running.stop()
    return result
}
