/// Where a session is in its life. Transitions are decided by `SessionState.next(on:)`, a pure function
/// with no side effects, so the lifecycle is unit-tested without processes.
public enum SessionState: String, Codable, Sendable, CaseIterable {
    case creating
    case running
    case paused
    case destroying
    case destroyed
    case failed

    /// Something that happens to a session.
    public enum Event: String, Sendable, CaseIterable {
        /// The sandbox started and answered.
        case started
        /// Creating the sandbox failed.
        case startFailed
        case pause
        case resume
        /// A destroy was requested (by a user, a TTL or an emergency stop).
        case destroy
        /// Teardown finished and nothing of the sandbox is left.
        case teardownFinished
        /// The sandbox disappeared underneath us (its init died, or it was not found after a restart).
        case lost
    }

    /// Sessions in these states hold host resources (mounts, cgroups, processes).
    public var holdsResources: Bool {
        switch self {
        case .creating, .running, .paused, .destroying: true
        case .destroyed, .failed: false
        }
    }

    public var isTerminal: Bool { self == .destroyed || self == .failed }

    /// The state after `event`, or a `conflict` error naming what the user can do instead.
    public func next(on event: Event) throws(PaddockError) -> SessionState {
        switch (self, event) {
        case (.creating, .started): return .running
        case (.creating, .startFailed): return .failed
        case (.running, .pause): return .paused
        case (.paused, .resume): return .running
        case (.creating, .destroy), (.running, .destroy), (.paused, .destroy), (.failed, .destroy):
            return .destroying
        case (.destroying, .destroy): return .destroying
        case (.destroying, .teardownFinished): return .destroyed
        case (.creating, .lost), (.running, .lost), (.paused, .lost), (.destroying, .lost): return .failed
        case (.destroyed, _):
            throw .init(.notFound, "the session was destroyed; create a new one")
        case (.paused, .pause):
            throw .conflict("the session is already paused; resume it with `paddock session resume`")
        case (.running, .resume):
            throw .conflict("the session is already running")
        default:
            throw .conflict("a \(rawValue) session cannot \(event.rawValue)")
        }
    }
}
