import Synchronization

/// Layers being written or copied right now, with how many operations hold each: a layer pinned here is never
/// collected, so a snapshot being sealed, a fork's children copying their parent's files, or a template being
/// built cannot lose their layer to `SnapshotService.collectLayers`.
final class LayerPins: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Runs `body` with `layer` pinned.
    func holding<T>(
        _ layer: String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> sending T
    ) async throws -> sending T {
        pin(layer)
        defer { unpin(layer) }
        return try await body()
    }

    func pin(_ layer: String) { counts.withLock { $0[layer, default: 0] += 1 } }

    func unpin(_ layer: String) {
        counts.withLock { counts in
            counts[layer, default: 1] -= 1
            if counts[layer] == 0 { counts[layer] = nil }
        }
    }

    func isPinned(_ layer: String) -> Bool { counts.withLock { $0[layer] != nil } }

    /// Every pinned layer now.
    var all: Set<String> { counts.withLock { Set($0.keys) } }
}
