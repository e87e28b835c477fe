import Foundation

/// Counts failed sign-ins per user name and per client address over a sliding window, and refuses further
/// attempts on a key that reached its limit until enough of its failures have aged out. A pure state machine:
/// the caller supplies the time and keeps it behind a lock (`SignInAttempts`).
///
/// It lives in memory, not in the store: the attempts are writes an attacker controls, and storing them would
/// let anyone grow the database and contend for its single writer; a restart forgetting them costs little,
/// since every guess still pays the password hash. (With several nodes it would move to the shared store.)
/// The table is bounded (`Limits.maxKeys`), so spraying names cannot exhaust memory either.
public struct SignInThrottle: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Failures of one user name within `window` before that name is refused.
        public var perUser: Int
        /// Failures from one client address within `window` before that address is refused.
        public var perAddress: Int
        public var window: Duration
        /// Keys remembered at most; the stalest go first.
        public var maxKeys: Int

        public init(perUser: Int = 5, perAddress: Int = 20, window: Duration = .seconds(15 * 60), maxKeys: Int = 10_000)
        {
            self.perUser = perUser
            self.perAddress = perAddress
            self.window = window
            self.maxKeys = maxKeys
        }
    }

    public enum Key: Hashable, Sendable {
        case user(String)
        case address(String)
    }

    public enum Decision: Equatable, Sendable {
        case allowed
        /// Refused until `until`. `first` is true for the first refusal of this lockout, so it is reported once
        /// rather than once per attempt of an attacker's loop.
        case refused(until: Date, first: Bool)
    }

    public let limits: Limits
    /// Failure times within the window, oldest first.
    private var failures: [Key: [Date]] = [:]
    /// Keys whose current lockout was already reported.
    private var reported: Set<Key> = []

    public init(limits: Limits = Limits()) { self.limits = limits }

    private func limit(_ key: Key) -> Int {
        switch key {
        case .user: limits.perUser
        case .address: limits.perAddress
        }
    }

    private var window: TimeInterval { limits.window.seconds }

    /// Whether an attempt on `keys` may go ahead at `now`.
    public mutating func check(_ keys: [Key], now: Date) -> Decision {
        var until: Date?
        var first = false
        for key in keys {
            prune(key, now: now)
            let times = failures[key] ?? []
            let limit = limit(key)
            guard times.count >= limit else {
                reported.remove(key)
                continue
            }
            // The count drops below the limit when the failure `limit` places from the newest ages out.
            let free = times[times.count - limit].addingTimeInterval(window)
            until = max(until ?? free, free)
            if reported.insert(key).inserted { first = true }
        }
        return until.map { .refused(until: $0, first: first) } ?? .allowed
    }

    /// When `keys` may next be tried, or nil if they may be now.
    public mutating func retryAt(_ keys: [Key], now: Date) -> Date? {
        let saved = reported
        defer { reported = saved }
        if case .refused(let until, _) = check(keys, now: now) { return until }
        return nil
    }

    public mutating func recordFailure(_ keys: [Key], now: Date) {
        for key in keys {
            prune(key, now: now)
            failures[key, default: []].append(now)
        }
        if failures.count > limits.maxKeys { evict(now: now) }
    }

    /// Checks `keys` and, when the attempt may go ahead, counts it as failed at once; `recordSuccess` takes that
    /// back. Counting before the slow password check is what keeps a burst of parallel guesses — all checked
    /// before any of them is known to fail — within the limit.
    public mutating func attempt(_ keys: [Key], now: Date) -> Decision {
        let decision = check(keys, now: now)
        if decision == .allowed { recordFailure(keys, now: now) }
        return decision
    }

    /// A correct password clears its user's count; the address keeps its own, so an attacker cannot reset
    /// their address's count by signing in to an account of their own between guesses.
    /// `address`, when given, loses only the one failure `attempt` counted for this sign-in.
    public mutating func recordSuccess(user: String, address: String? = nil) {
        failures[.user(user)] = nil
        reported.remove(.user(user))
        if let address, var times = failures[.address(address)], !times.isEmpty {
            times.removeLast()
            failures[.address(address)] = times.isEmpty ? nil : times
        }
    }

    private mutating func prune(_ key: Key, now: Date) {
        guard let times = failures[key] else { return }
        let horizon = now.addingTimeInterval(-window)
        let kept = times.filter { $0 > horizon }
        failures[key] = kept.isEmpty ? nil : kept
    }

    /// Forgets keys with no failure in the window, then the ones whose newest failure is oldest.
    private mutating func evict(now: Date) {
        let horizon = now.addingTimeInterval(-window)
        failures = failures.filter { ($0.value.last ?? .distantPast) > horizon }
        let excess = failures.count - limits.maxKeys
        guard excess > 0 else { return }
        for (key, _) in failures.sorted(by: { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) })
            .prefix(excess)
        {
            failures[key] = nil
            reported.remove(key)
        }
    }

    /// How many keys are remembered (for tests of the bound).
    public var count: Int { failures.count }
}
