import Foundation
import PaddockCore
import PaddockSandbox
import PaddockServices

/// Directory watchers of envd's polling API (CreateWatcher, GetWatcherEvents, RemoveWatcher). Each holds
/// the listing it last reported; a poll lists again and reports the difference.
actor EnvdWatchers {
    struct Watcher: Sendable {
        var session: SessionID
        var path: String
        var depth: Int
        var user: SandboxUser
        var snapshot: DirectorySnapshot
    }

    /// Watchers per server, so an abandoned one cannot pile up without bound.
    static let limit = 1024
    private var watchers: [String: Watcher] = [:]

    func add(_ watcher: Watcher) throws -> String {
        guard watchers.count < Self.limit else {
            throw ConnectError(.resourceExhausted, "too many directory watchers; remove some with RemoveWatcher")
        }
        let id = UUID().uuidString.lowercased()
        watchers[id] = watcher
        return id
    }

    func get(_ id: String, session: SessionID) throws -> Watcher {
        guard let w = watchers[id], w.session == session else {
            throw ConnectError(.notFound, "watcher \(id) not found")
        }
        return w
    }

    func update(_ id: String, snapshot: DirectorySnapshot) { watchers[id]?.snapshot = snapshot }

    func remove(_ id: String) { watchers[id] = nil }
}
