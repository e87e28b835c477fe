import Foundation

/// A repository in the server's cache (`paddock repos list`): its mirror and the commit layers sessions start
/// from.
public struct CachedRepository: Sendable, Equatable, Codable {
    /// The cache's name for the origin (a hash of its URL).
    public var id: String
    public var url: String
    /// Bytes of the mirror and of the layers' own files (objects are the mirror's, shared).
    public var bytes: UInt64
    /// When the mirror was last fetched from the origin.
    public var fetchedAt: Date?
    /// When a session last started from it.
    public var usedAt: Date?
    public var layers: [Layer]

    /// One commit's sealed checkout.
    public struct Layer: Sendable, Equatable, Codable {
        public var id: String
        public var commit: String
        public var branch: String
        public var bytes: UInt64
        public var createdAt: Date
        public var usedAt: Date
        /// Some live session's /workspace is a view of it: it is never removed.
        public var inUse: Bool

        public init(
            id: String, commit: String, branch: String, bytes: UInt64, createdAt: Date, usedAt: Date, inUse: Bool
        ) {
            self.id = id
            self.commit = commit
            self.branch = branch
            self.bytes = bytes
            self.createdAt = createdAt
            self.usedAt = usedAt
            self.inUse = inUse
        }
    }

    public init(id: String, url: String, bytes: UInt64, fetchedAt: Date?, usedAt: Date?, layers: [Layer]) {
        self.id = id
        self.url = url
        self.bytes = bytes
        self.fetchedAt = fetchedAt
        self.usedAt = usedAt
        self.layers = layers
    }
}
