import Foundation

/// Who may open a preview share link.
public enum PreviewAudience: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Signed-in people who may see the session's team.
    case team
    /// Anyone signed in to this Paddock.
    case org
    /// Anyone holding the link.
    case `public`
    /// One signed-in person.
    case user(String)

    /// How wide the audience is, for caps (`previews: {max_audience: org}`): a user is narrower than a team.
    public var breadth: Int {
        switch self {
        case .user: 0
        case .team: 1
        case .org: 2
        case .public: 3
        }
    }

    /// `team`, `org`, `public` or `user:NAME`.
    public init(parsing text: String) throws(PaddockError) {
        switch text {
        case "team": self = .team
        case "org": self = .org
        case "public": self = .public
        default:
            guard text.hasPrefix("user:"), text.count > 5, text.count <= 133 else {
                throw .invalidArgument("audience '\(text)' is not one of team, org, public or user:NAME")
            }
            self = .user(String(text.dropFirst(5)))
        }
    }

    public var description: String {
        switch self {
        case .team: "team"
        case .org: "org"
        case .public: "public"
        case .user(let name): "user:\(name)"
        }
    }
}

/// A share link to one port of one session: who may open it and until when. The link carries a secret that
/// only its hash is kept of; revoking the share (or its expiry) ends every access made through it.
public struct PreviewShare: Sendable, Equatable, CustomStringConvertible {
    /// `shr` + 13 base-36 characters; also the revocation id every grant made from the link names.
    public var id: String
    public var session: SessionID
    public var port: UInt16
    public var audience: PreviewAudience
    /// Who made it.
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?

    public init(
        id: String, session: SessionID, port: UInt16, audience: PreviewAudience, createdBy: String, createdAt: Date,
        expiresAt: Date, revokedAt: Date? = nil
    ) {
        self.id = id
        self.session = session
        self.port = port
        self.audience = audience
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    public static func newID() -> String { "shr" + String(SessionID.random().rawValue.prefix(13)) }

    /// Whether the link still opens the preview at `now`.
    public func isLive(at now: Date) -> Bool { revokedAt == nil && now < expiresAt }

    public var description: String { "PreviewShare(\(id), session: \(session), port: \(port), \(audience))" }
}
