import AsyncAlgorithms
import PaddockCore
import ServiceLifecycle

/// Keeps the branches sessions work on ready (`paddock server --repo-prepare`): every `interval`, each cached branch
/// a session used within `recent` is fetched and its latest commit sealed, so a session on the latest commit of a
/// busy branch starts like any warm session — a sandbox from the warm pool, the requester's policy applied as it is
/// handed out, and a copy-on-write view of a layer that is already there — with no fetch and nothing to seal.
public struct RepositoryPrepareService: Service {
    let sessions: SessionService
    let interval: Duration
    let recent: Duration

    public init(sessions: SessionService, interval: Duration, recent: Duration) {
        self.sessions = sessions
        self.interval = interval
        self.recent = recent
    }

    public func run() async throws {
        // A period, not a wait for a condition: the origin announces nothing (a GitHub push webhook does, and
        // prepares its branch at once). The timer ends with the server's graceful shutdown.
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            let sealed = await RepositoryCacheService(sessions: sessions).prepareRecentBranches(usedWithin: recent)
            if !sealed.isEmpty {
                sessions.logger.info("prepared repository branches", metadata: ["layers": "\(sealed.count)"])
            }
        }
    }
}
