import Foundation
import PaddockCore

// Bodies of the people, tokens, org-settings and audit routes.

/// `POST /v1/users`.
public struct CreateUserBody: Codable, Sendable {
    public var name: String
    /// `admin`, `member` (default) or `viewer`.
    public var role: String?
    public init(name: String, role: String? = nil) {
        self.name = name
        self.role = role
    }
}

public struct UserBody: Codable, Sendable, Equatable {
    public var name: String
    public var role: String
    public var teams: [String]
    public var createdAt: Date
    public init(_ u: UserAccount, teams: [String]) {
        name = u.name
        role = u.role.rawValue
        self.teams = teams
        createdAt = u.createdAt
    }
}

public struct UserListBody: Codable, Sendable {
    public var users: [UserBody]
    public init(users: [UserBody]) { self.users = users }
}

/// `POST /v1/teams`.
public struct CreateTeamBody: Codable, Sendable {
    public var name: String
    /// What members get on the team's sessions; default read, write, approve, submit.
    public var permissions: [String]?
    public init(name: String, permissions: [String]? = nil) {
        self.name = name
        self.permissions = permissions
    }
}

public struct TeamBody: Codable, Sendable, Equatable {
    public var name: String
    public var permissions: [String]
    public var members: [String]
    /// The team's own monthly agent budget in dollars; absent: the server's default applies.
    public var monthlyBudgetUSD: Double?

    enum CodingKeys: String, CodingKey {
        case name, permissions, members
        case monthlyBudgetUSD = "monthlyBudgetUsd"
    }

    public init(_ t: TeamRecord) {
        name = t.name
        permissions = Permission.allCases.filter(t.permissions.contains).map(\.rawValue)
        members = t.members
        monthlyBudgetUSD = t.monthlyBudgetUSD
    }
}

public struct TeamListBody: Codable, Sendable {
    public var teams: [TeamBody]
    public init(teams: [TeamBody]) { self.teams = teams }
}

/// `POST /v1/tokens`.
public struct CreateTokenBody: Codable, Sendable {
    public var name: String?
    /// Whose token; default the caller. Only admins issue tokens for others.
    public var user: String?
    /// Default: everything the user's role allows (and the calling token holds).
    public var scopes: [String]?
    /// `30d`, `12h`; default never.
    public var expiresIn: String?
    public init(name: String? = nil, user: String? = nil, scopes: [String]? = nil, expiresIn: String? = nil) {
        self.name = name
        self.user = user
        self.scopes = scopes
        self.expiresIn = expiresIn
    }
}

public struct TokenBody: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var user: String?
    public var scopes: [String]
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    /// The secret, only in the answer to the create: it is stored hashed and never shown again.
    public var token: String?
    public init(_ t: TokenRecord, token: String? = nil) {
        id = t.id
        name = t.name
        user = t.user
        scopes = Permission.allCases.filter(t.scopes.contains).map(\.rawValue)
        createdAt = t.createdAt
        expiresAt = t.expiresAt
        revokedAt = t.revokedAt
        self.token = token
    }
}

public struct TokenListBody: Codable, Sendable {
    public var tokens: [TokenBody]
    public init(tokens: [TokenBody]) { self.tokens = tokens }
}

/// `GET /v1/me`: who the token belongs to and what it may do.
public struct MeBody: Codable, Sendable, Equatable {
    public var user: String
    public var role: String
    public var tokenId: String
    public var scopes: [String]
    /// Team → what this token may do on the team's sessions.
    public var teams: [String: [String]]
    public init(user: String, role: String, tokenId: String, scopes: [String], teams: [String: [String]]) {
        self.user = user
        self.role = role
        self.tokenId = tokenId
        self.scopes = scopes
        self.teams = teams
    }
}

/// `GET/PUT /v1/limits`. Absent fields mean no limit.
public struct LimitsBody: Codable, Sendable, Equatable {
    public var maxSessionsPerTeam: Int?
    public var maxSessionsPerUser: Int?
    /// A duration such as `8h`.
    public var maxSessionLifetime: String?
    public init(maxSessionsPerTeam: Int? = nil, maxSessionsPerUser: Int? = nil, maxSessionLifetime: String? = nil) {
        self.maxSessionsPerTeam = maxSessionsPerTeam
        self.maxSessionsPerUser = maxSessionsPerUser
        self.maxSessionLifetime = maxSessionLifetime
    }

    public init(_ l: OrgLimits) {
        maxSessionsPerTeam = l.maxSessionsPerTeam
        maxSessionsPerUser = l.maxSessionsPerUser
        maxSessionLifetime = l.maxLifetimeSeconds.map { DurationText.format(.seconds($0)) }
    }

    public func limits() throws(PaddockError) -> OrgLimits {
        let lifetime = try maxSessionLifetime.map { (t: String) throws(PaddockError) -> Int64 in
            Int64(try DurationText.parse(t).seconds.rounded(.up))
        }
        let l = OrgLimits(
            maxSessionsPerTeam: maxSessionsPerTeam, maxSessionsPerUser: maxSessionsPerUser, maxLifetimeSeconds: lifetime
        )
        try l.validate()
        return l
    }
}

/// `POST /v1/stop-all`.
public struct StopAllBody: Codable, Sendable {
    public var team: String?
    public init(team: String? = nil) { self.team = team }
}

/// What `stop-all` did.
public struct StopAllReportBody: Codable, Sendable, Equatable {
    public var team: String?
    /// Sessions destroyed.
    public var stopped: [String]
    /// Sessions whose teardown failed (they are frozen; retry `stop-all`).
    public var failed: [String]
    public init(team: String?, stopped: [String], failed: [String]) {
        self.team = team
        self.stopped = stopped
        self.failed = failed
    }
}

public struct EmergencyStopBody: Codable, Sendable, Equatable {
    public var team: String?
    public var by: String
    public var at: Date
    public init(team: String?, by: String, at: Date) {
        self.team = team
        self.by = by
        self.at = at
    }
}

public struct EmergencyStopListBody: Codable, Sendable {
    public var stops: [EmergencyStopBody]
    public init(stops: [EmergencyStopBody]) { self.stops = stops }
}

public struct LiftBody: Codable, Sendable {
    public var lifted: Int
    public init(lifted: Int) { self.lifted = lifted }
}
