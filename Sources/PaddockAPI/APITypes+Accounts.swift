import Foundation
import PaddockCore

// Bodies of the sign-in routes (`/auth/*`) and of the invite and password routes of `/v1`.

/// `POST /auth/password`, as JSON or as a form (`user=…&password=…`).
public struct PasswordSignInBody: Codable, Sendable {
    public var user: String
    public var password: String
    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }
}

/// `POST /auth/invite/{secret}`: the newcomer's password, and their user name when the invite leaves it open.
public struct RedeemInviteBody: Codable, Sendable {
    public var user: String?
    public var password: String
    public init(user: String? = nil, password: String) {
        self.user = user
        self.password = password
    }
}

/// Who is signed in, for `GET /auth/me` and the answer of every sign-in: the CSRF token goes with every
/// state-changing request of the session (`X-CSRF-Token` or the form field `_csrf`).
public struct SignedInBody: Codable, Sendable, Equatable {
    public var user: String
    public var role: String
    /// Team → what the person may do there.
    public var teams: [String: [String]]
    /// `web:<id>`, as the audit trail names the session.
    public var session: String
    public var csrfToken: String
    public var expiresAt: Date

    public init(
        user: String, role: String, teams: [String: [String]], session: String, csrfToken: String, expiresAt: Date
    ) {
        self.user = user
        self.role = role
        self.teams = teams
        self.session = session
        self.csrfToken = csrfToken
        self.expiresAt = expiresAt
    }
}

/// `POST /v1/invites`.
public struct CreateInviteBody: Codable, Sendable {
    /// `admin`, `member` (default) or `viewer`.
    public var role: String?
    public var teams: [String]?
    /// The user name the invite creates; absent, the invitee chooses.
    public var user: String?
    public var email: String?
    /// How long the link works, such as `72h` (the default).
    public var ttl: String?

    public init(
        role: String? = nil, teams: [String]? = nil, user: String? = nil, email: String? = nil, ttl: String? = nil
    ) {
        self.role = role
        self.teams = teams
        self.user = user
        self.email = email
        self.ttl = ttl
    }
}

public struct InviteBody: Codable, Sendable, Equatable {
    public var id: String
    public var user: String?
    public var email: String?
    public var role: String
    public var teams: [String]
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?
    public var usedBy: String?
    public var revokedAt: Date?
    /// `/invite/<secret>`: only in the answer to its creation, never again.
    public var link: String?
    /// `link` under the server's public URL, when it has one.
    public var url: String?

    public init(_ r: InviteRecord, link: String? = nil, url: String? = nil) {
        id = r.id
        user = r.user
        email = r.email
        role = r.role.rawValue
        teams = r.teams
        createdBy = r.createdBy
        createdAt = r.createdAt
        expiresAt = r.expiresAt
        usedAt = r.usedAt
        usedBy = r.usedBy
        revokedAt = r.revokedAt
        self.link = link
        self.url = url
    }
}

public struct InviteListBody: Codable, Sendable {
    public var invites: [InviteBody]
    public init(invites: [InviteBody]) { self.invites = invites }
}

/// `PUT /v1/users/{name}/password`.
public struct SetPasswordBody: Codable, Sendable {
    public var password: String
    public init(password: String) { self.password = password }
}
