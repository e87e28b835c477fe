import Synchronization

/// Values read lately from a store, each stamped with the store's change counter (an epoch) as it was before the
/// read: an entry is answered only while the counter has not moved since, so one write to what it counts makes
/// every entry out of date at once. The counter is read before the store is, so a write landing during the read
/// leaves the entry out of date rather than outliving the write. Bounded: past `capacity` the memory starts over
/// rather than grow with every key.
public final class EpochMemory<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        let value: Value
        let epoch: UInt64
    }

    public let capacity: Int
    private let entries = Mutex<[Key: Entry]>([:])

    public init(capacity: Int = 4096) { self.capacity = capacity }

    /// The value remembered for `key` while the epoch is still `epoch` and `isCurrent` holds for it; an entry out of
    /// date is forgotten.
    public func value(_ key: Key, epoch: UInt64, isCurrent: (Value) -> Bool = { _ in true }) -> Value? {
        entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.epoch == epoch, isCurrent(entry.value) else {
                entries[key] = nil
                return nil
            }
            return entry.value
        }
    }

    /// Remembers `value`, read while the epoch was `epoch` (taken before the read).
    public func remember(_ value: Value, for key: Key, epoch: UInt64) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(value: value, epoch: epoch)
        }
    }
}
