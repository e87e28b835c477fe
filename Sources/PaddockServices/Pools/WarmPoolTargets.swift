import PaddockStore
import Synchronization

/// The warm pools' sizes as the refills see them: read from the store once, then kept current by every change.
/// Shared by the services made from one `SessionService`, which are values.
public final class WarmPoolTargets: Sendable {
    private struct State {
        var targets: [PoolTarget] = []
        var loaded = false
    }

    private let state = Mutex(State())

    /// The targets, read from `store` the first time. A size set since is newer than the stored one; a pool set
    /// to 0 (which the store forgets) stays here until a refill has drained it.
    func current(from store: any Store) async throws -> [PoolTarget] {
        if let loaded = state.withLock({ $0.loaded ? $0.targets : nil }) { return loaded }
        let stored = try await store.poolTargets()
        return state.withLock { state in
            if !state.loaded {
                for target in stored where !state.targets.contains(where: { $0.isSamePool(as: target) }) {
                    state.targets.append(target)
                }
                state.loaded = true
            }
            return state.targets
        }
    }

    /// Called once a target is stored.
    func set(_ target: PoolTarget) {
        state.withLock { state in
            state.targets.removeAll { $0.isSamePool(as: target) }
            state.targets.append(target)
        }
    }

    /// Forgets pools of size 0 once they have been drained, so refills stop visiting them.
    func forgetDrained() { state.withLock { $0.targets.removeAll { $0.size == 0 } } }

    /// Whether a pool of more than 0 is kept for the template on the provider.
    func keepsWarm(provider: String, template: String) -> Bool {
        state.withLock { $0.targets.contains { $0.provider == provider && $0.template == template && $0.size > 0 } }
    }
}

extension PoolTarget {
    fileprivate func isSamePool(as other: PoolTarget) -> Bool {
        provider == other.provider && template == other.template
    }
}
