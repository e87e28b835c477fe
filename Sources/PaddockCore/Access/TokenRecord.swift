import Foundation

/// An API token as listed: everything but its hash.
public struct TokenRecord: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var user: String?
    public var scopes: Set<Permission>
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?

    public init(
        id: String, name: String, user: String?, scopes: Set<Permission>, createdAt: Date, expiresAt: Date?,
        revokedAt: Date?
    ) {
        self.id = id
        self.name = name
        self.user = user
        self.scopes = scopes
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}
