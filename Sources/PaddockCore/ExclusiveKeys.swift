import Synchronization

/// Keys taken by one operation at a time, refused (not queued) while taken: for work a second caller should
/// not wait behind — a template build of the same name, a diff of a clone already being diffed. `KeyedLock` is
/// the waiting kind.
public final class ExclusiveKeys<Key: Hashable & Sendable>: Sendable {
    private let taken = Mutex<Set<Key>>([])

    public init() {}

    /// Takes `key`, or throws `busy` at once when another operation holds it. Pair with `release`.
    public func take(_ key: Key, busy: @autoclosure () -> PaddockError) throws(PaddockError) {
        guard taken.withLock({ $0.insert(key).inserted }) else { throw busy() }
    }

    public func release(_ key: Key) { _ = taken.withLock { $0.remove(key) } }
}
