/// How something running is ended, the same way on every path that ends processes: asked first (SIGTERM), given
/// `grace` to finish, then killed (SIGKILL) and waited for up to `killWait`. What "signal" and "gone" mean is the
/// caller's: a pid, a process group, a whole cgroup, a command inside a sandbox.
public struct KillPolicy: Sendable, Hashable {
    /// SIGTERM and SIGKILL: the same numbers on every architecture Linux and Darwin run on.
    public static let terminateSignal: Int32 = 15
    public static let killSignal: Int32 = 9

    /// Between the request to stop and the kill. Zero skips the request: the kill is sent at once.
    public var grace: Duration
    /// After the kill, how long to wait for the target to be gone before giving up on it.
    public var killWait: Duration

    public init(grace: Duration, killWait: Duration) {
        self.grace = max(grace, .zero)
        self.killWait = max(killWait, .zero)
    }

    /// For processes that should not be running at all (a sandbox's, after its runtime deleted it): no grace.
    public static let immediate = KillPolicy(grace: .zero, killWait: .seconds(5))
    /// For work someone asked to stop (an agent's run): a few seconds to save and exit cleanly.
    public static let graceful = KillPolicy(grace: .seconds(3), killWait: .seconds(5))

    public enum Outcome: Sendable, Hashable {
        /// Nothing was running: no signal was sent.
        case alreadyGone
        /// It ended within the grace period.
        case stopped
        /// It ended after the kill.
        case killed
        /// It was still there when `killWait` ran out (a task stuck in the kernel, an unkillable zombie holder).
        case survived
    }

    /// Runs the policy. `signal` sends one signal to the target; during the wait after the kill it is called
    /// again with the kill signal, which is harmless for what is dying and reaches what appeared since (a child
    /// forked between listing and signalling). `isGone` says whether anything is left.
    ///
    /// Nothing reports a process's end as an event across all the targets this serves (a cgroup has no exit
    /// notification on v1), so the waits poll, starting at a millisecond and backing off to 20 ms. A cancelled
    /// caller skips the grace and does not wait after the kill.
    public func enforce(signal: (Int32) async -> Void, isGone: () async -> Bool) async -> Outcome {
        if await isGone() { return .alreadyGone }
        if grace > .zero && !Task.isCancelled {
            await signal(Self.terminateSignal)
            if await Self.wait(for: grace, until: isGone, resending: nil, signal) { return .stopped }
        }
        await signal(Self.killSignal)
        if Task.isCancelled { return await isGone() ? .killed : .survived }
        return await Self.wait(for: killWait, until: isGone, resending: Self.killSignal, signal) ? .killed : .survived
    }

    /// Polls `isGone` until it holds or `limit` has passed; after each miss but the first, sends `resending`
    /// (when given) before sleeping again.
    private static func wait(
        for limit: Duration, until isGone: () async -> Bool, resending: Int32?, _ signal: (Int32) async -> Void
    ) async -> Bool {
        let deadline = ContinuousClock.now + limit
        var delay = Duration.milliseconds(1)
        var first = true
        while true {
            if await isGone() { return true }
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return false }
            if let resending, !first { await signal(resending) }
            first = false
            do { try await Task.sleep(for: delay) } catch { return await isGone() }
            delay = min(delay * 2, .milliseconds(20))
        }
    }
}
