import Foundation

/// Organisation-wide limits on sessions, set by an admin (`paddock limits set`). nil means no limit.
public struct OrgLimits: Sendable, Equatable, Codable {
    /// Live sessions one team may have at once.
    public var maxSessionsPerTeam: Int?
    /// Live sessions one person may have at once.
    public var maxSessionsPerUser: Int?
    /// The longest a session may live; sessions asking for no TTL get this one.
    public var maxLifetimeSeconds: Int64?

    public init(maxSessionsPerTeam: Int? = nil, maxSessionsPerUser: Int? = nil, maxLifetimeSeconds: Int64? = nil) {
        self.maxSessionsPerTeam = maxSessionsPerTeam
        self.maxSessionsPerUser = maxSessionsPerUser
        self.maxLifetimeSeconds = maxLifetimeSeconds
    }

    public func validate() throws(PaddockError) {
        for (name, value) in [
            ("max sessions per team", maxSessionsPerTeam), ("max sessions per user", maxSessionsPerUser),
        ] {
            if let value, value < 1 { throw .invalidArgument("\(name) must be at least 1, or unset for no limit") }
        }
        if let maxLifetimeSeconds, maxLifetimeSeconds < 1 || maxLifetimeSeconds > InputLimits.maxDurationSeconds {
            throw .invalidArgument(
                "max session lifetime must be 1s to \(DurationText.format(DurationText.maximum)) (100 years), or unset "
                    + "for no limit")
        }
    }
}

/// An emergency stop in force: no new session starts in its scope until an admin lifts it.
public struct EmergencyStop: Sendable, Equatable, Codable {
    /// The team it covers; nil covers every session.
    public var team: String?
    public var by: String
    public var at: Date

    public init(team: String?, by: String, at: Date) {
        self.team = team
        self.by = by
        self.at = at
    }
}
