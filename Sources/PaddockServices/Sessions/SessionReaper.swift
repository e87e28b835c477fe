import Logging
import ServiceLifecycle

/// Destroys sessions whose TTL has passed, pauses idle ones and collects unused layers. A Service in the
/// server's ServiceGroup, so it stops with it.
public struct SessionReaper: Service {
    let sessions: SessionService
    let interval: Duration

    public init(sessions: SessionService, interval: Duration = .seconds(1)) {
        self.sessions = sessions
        self.interval = interval
    }

    public func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            await sessions.reapExpired()
            await sessions.pauseIdle()
            await SnapshotService(sessions: sessions).collectLayers()
            try? await Task.sleep(for: interval)
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
