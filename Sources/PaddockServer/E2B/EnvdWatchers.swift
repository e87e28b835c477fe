import Foundation
import PaddockCore
import PaddockInitProtocol
import PaddockSandbox
import PaddockServices

/// One inotify watch behind envd's polling API (CreateWatcher, GetWatcherEvents, RemoveWatcher): a task drains
/// the watch into a buffer that each GetWatcherEvents empties. Before emptying it, the watch is synced, so a
/// change the client made before asking (a file it just wrote) is in the answer, as with envd's in-process
/// watcher.
actor EnvdWatchFeed {
    let session: SessionID
    /// The watched directory, absolute, and whether events carry the entry they leave (`includeEntry`).
    let root: String
    let includeEntry: Bool
    private let watch: SandboxDirectoryWatch
    private var events: [WireFileEvent] = []
    /// Syncs asked for and answered (each answer is an empty batch).
    private var requested = 0
    private var answered = 0
    private var waiters: [(ticket: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var ended = false
    private var consumer: Task<Void, Never>?

    /// Changes kept between two polls at most; older ones are dropped (a client that stopped polling).
    static let bufferLimit = 10_000
    /// How long a poll waits for init to answer its sync.
    static let syncLimit: Duration = .seconds(10)

    init(session: SessionID, root: String, includeEntry: Bool, watch: SandboxDirectoryWatch) {
        self.session = session
        self.root = root
        self.includeEntry = includeEntry
        self.watch = watch
    }

    func start() {
        let events = watch.events
        consumer = Task { [weak self] in
            do {
                for try await batch in events { await self?.receive(batch) }
            } catch {
                // A stopped sandbox ends its watches; the next poll gets what was collected, then nothing more.
            }
            await self?.end()
        }
    }

    private func receive(_ batch: [WireFileEvent]) {
        guard !batch.isEmpty else {
            answered += 1
            resume { $0 <= answered }
            return
        }
        events += batch
        if events.count > Self.bufferLimit { events.removeFirst(events.count - Self.bufferLimit) }
    }

    private func end() {
        ended = true
        resume { _ in true }
    }

    private func resume(where ready: (Int) -> Bool) {
        var waiting: [(ticket: Int, continuation: CheckedContinuation<Void, Never>)] = []
        for waiter in waiters {
            if ready(waiter.ticket) { waiter.continuation.resume() } else { waiting.append(waiter) }
        }
        waiters = waiting
    }

    private func answer(_ ticket: Int) async {
        if ended || answered >= ticket { return }
        await withCheckedContinuation { waiters.append((ticket, $0)) }
    }

    /// The changes since the last poll, including every change made before this call.
    func drain() async -> [WireFileEvent] {
        if !ended {
            requested += 1
            let ticket = requested
            do {
                try await watch.sync()
                let answered = Task { await self.answer(ticket) }
                // A sandbox that stopped answering (frozen, gone) must not hold the client for ever.
                _ = await finishes(answered, within: Self.syncLimit)
            } catch {
                end()
            }
        }
        defer { events = [] }
        return events
    }

    var isEnded: Bool { ended }

    func stop() {
        consumer?.cancel()
        watch.events.cancel()
        end()
    }
}

/// The watchers of envd's polling API, by id.
actor EnvdWatchers {
    /// Watchers per server, so an abandoned one cannot pile up without bound.
    static let limit = 1024
    private var watchers: [String: EnvdWatchFeed] = [:]

    func add(_ feed: EnvdWatchFeed) async throws -> String {
        if watchers.count >= Self.limit {
            // Watches of sandboxes that ended, never removed by their clients, make room first.
            for (id, existing) in watchers where await existing.isEnded { watchers[id] = nil }
        }
        guard watchers.count < Self.limit else {
            await feed.stop()
            throw ConnectError(.resourceExhausted, "too many directory watchers; remove some with RemoveWatcher")
        }
        let id = UUID().uuidString.lowercased()
        watchers[id] = feed
        await feed.start()
        return id
    }

    func get(_ id: String, session: SessionID) throws -> EnvdWatchFeed {
        guard let feed = watchers[id], feed.session == session else {
            throw ConnectError(.notFound, "watcher \(id) not found")
        }
        return feed
    }

    func remove(_ id: String) async {
        await watchers.removeValue(forKey: id)?.stop()
    }
}
