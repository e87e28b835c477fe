/// A person's role in the organisation. The role is the ceiling of what any of their tokens may do; on a
/// team's sessions, members and viewers get at most what the team is granted (the `rbac:` map).
public enum Role: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// The one person who set the server up; holds the admin token. Cannot be removed.
    case owner
    /// Manages people, teams, limits and emergency stops; sees every session.
    case admin
    /// Works in the sessions of their teams.
    case member
    /// Reads the sessions of their teams.
    case viewer

    /// The most any token of someone with this role may do.
    public var ceiling: Set<Permission> {
        switch self {
        case .owner, .admin: Set(Permission.allCases)
        case .member: [.read, .write, .approve, .submit]
        case .viewer: [.read]
        }
    }

    /// Owners and admins act on every team's sessions, not only their own teams'.
    public var spansAllTeams: Bool { self == .owner || self == .admin }

    public var description: String { rawValue }

    /// Parses a role name, with an error that lists the valid ones.
    public init(parsing text: String) throws(PaddockError) {
        guard let role = Role(rawValue: text.lowercased()) else {
            throw .invalidArgument(
                "role '\(text)' is not known; use one of: \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = role
    }
}

extension Permission {
    /// Parses a comma-separated list such as `read,write`, with an error that lists the valid names.
    public static func parseList(_ text: String) throws(PaddockError) -> Set<Permission> {
        var out: Set<Permission> = []
        for part in text.split(separator: ",") {
            let name = part.trimmingWhitespace().lowercased()
            guard let p = Permission(rawValue: name) else {
                throw .invalidArgument(
                    "permission '\(name)' is not known; use: "
                        + Permission.allCases.map(\.rawValue).joined(separator: ", "))
            }
            out.insert(p)
        }
        return out
    }

    /// `read, write` in the canonical order.
    public static func describe(_ set: Set<Permission>) -> String {
        set.isEmpty ? "nothing" : Permission.allCases.filter(set.contains).map(\.rawValue).joined(separator: ", ")
    }
}
