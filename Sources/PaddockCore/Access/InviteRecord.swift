import Foundation

/// An invitation an admin made: whoever holds its link may create the account it describes, once, before it
/// expires. Only a hash of the link's secret is stored.
public struct InviteRecord: Sendable, Equatable, Codable {
    public var id: String
    /// The user name the invite creates; nil lets the invitee choose one.
    public var user: String?
    /// Who it was sent to, for the admin's list; not a login name.
    public var email: String?
    public var role: Role
    /// Teams the new user joins.
    public var teams: [String]
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?
    /// The user the invite created.
    public var usedBy: String?
    public var revokedAt: Date?

    public init(
        id: String, user: String?, email: String?, role: Role, teams: [String], createdBy: String, createdAt: Date,
        expiresAt: Date, usedAt: Date? = nil, usedBy: String? = nil, revokedAt: Date? = nil
    ) {
        self.id = id
        self.user = user
        self.email = email
        self.role = role
        self.teams = teams
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
        self.usedBy = usedBy
        self.revokedAt = revokedAt
    }

    /// Why the invite cannot be used at `now`, or nil when it can.
    public func refusal(at now: Date) -> String? {
        if usedAt != nil { return "used" }
        if revokedAt != nil { return "revoked" }
        if expiresAt <= now { return "expired" }
        return nil
    }
}
