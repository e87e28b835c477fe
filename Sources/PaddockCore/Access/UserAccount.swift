import Foundation

/// A person who can hold API tokens.
public struct UserAccount: Sendable, Equatable, Codable {
    /// The unique name, also the id: `alice`, `ci-bot`.
    public var name: String
    public var role: Role
    public var createdAt: Date

    public init(name: String, role: Role, createdAt: Date) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }

    /// The account created with the server; its token is `<data-dir>/admin.token`.
    public static let ownerName = "owner"

    /// Names of users and teams: 1–64 lowercase letters, digits, `-`, `_` and `.`, starting with a letter or digit.
    public static func validateName(_ name: String, kind: String) throws(PaddockError) {
        let ok =
            (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy {
                ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || "-_.".utf8.contains($0)
            }
            && name.first.map { $0.isLetter || $0.isNumber } == true
        guard ok else {
            throw .invalidArgument(
                "\(kind) name '\(name)' is not valid; use 1 to 64 lowercase letters, digits, '-', '_' or '.'")
        }
    }
}

/// A group of people whose sessions are theirs; what members may do with them is the team's grant.
public struct TeamRecord: Sendable, Equatable, Codable {
    public var name: String
    /// What members get on the team's sessions (capped by each member's role), as in runtime.yml's `rbac:`.
    public var permissions: Set<Permission>
    public var members: [String]
    public var createdAt: Date
    /// What the team's agent runs may cost per calendar month (UTC), in US dollars; nil: the server's default.
    public var monthlyBudgetUSD: Double?

    public init(
        name: String, permissions: Set<Permission>, members: [String], createdAt: Date, monthlyBudgetUSD: Double? = nil
    ) {
        self.name = name
        self.permissions = permissions
        self.members = members
        self.createdAt = createdAt
        self.monthlyBudgetUSD = monthlyBudgetUSD
    }

    /// What a team gets when none is given: everything but org administration.
    public static let defaultPermissions: Set<Permission> = [.read, .write, .approve, .submit]
}

/// Who owns a session: the team it belongs to (nil: no team, visible to admins only) and who created it.
public struct SessionOwner: Sendable, Equatable {
    public var team: String?
    public var user: String
    public init(team: String?, user: String) {
        self.team = team
        self.user = user
    }
}
