import Foundation
import PaddockCore

/// A session's port and its private preview URL (`GET /v1/sessions/{id}/previews`).
public struct PreviewLinkBody: Codable, Sendable, Equatable {
    public var port: UInt16
    public var url: String
    /// Whether something listens on the port right now.
    public var listening: Bool
    public init(port: UInt16, url: String, listening: Bool) {
        self.port = port
        self.url = url
        self.listening = listening
    }
}

public struct PreviewListBody: Codable, Sendable {
    public var previews: [PreviewLinkBody]
    public var shares: [PreviewShareBody]
    public init(previews: [PreviewLinkBody], shares: [PreviewShareBody]) {
        self.previews = previews
        self.shares = shares
    }
}

/// `POST /v1/sessions/{id}/previews/shares`.
public struct CreatePreviewShareBody: Codable, Sendable {
    public var port: UInt16
    /// `24h`, `30m`…; default 24h.
    public var ttl: String?
    /// `team`, `org`, `public` or `user:NAME`; default `team`.
    public var audience: String?
    public init(port: UInt16, ttl: String? = nil, audience: String? = nil) {
        self.port = port
        self.ttl = ttl
        self.audience = audience
    }
}

/// A share link. `url` (which carries the link's secret) is only present in the answer that made it.
public struct PreviewShareBody: Codable, Sendable, Equatable {
    public var id: String
    public var url: String?
    public var session: String
    public var port: UInt16
    public var audience: String
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?

    public init(_ s: PreviewShare, url: String? = nil) {
        id = s.id
        self.url = url
        session = s.session.rawValue
        port = s.port
        audience = s.audience.description
        createdBy = s.createdBy
        createdAt = s.createdAt
        expiresAt = s.expiresAt
        revokedAt = s.revokedAt
    }
}

public struct PreviewShareListBody: Codable, Sendable {
    public var shares: [PreviewShareBody]
    public init(shares: [PreviewShareBody]) { self.shares = shares }
}
