import Foundation
import PaddockCore

/// `POST /v1/sessions/{id}/snapshots`.
public struct CreateSnapshotBody: Codable, Sendable {
    public var name: String?
    /// `files` (the default) or `processes` (gVisor sessions where checkpoint works: the running processes too).
    public var keeps: String?
    public init(name: String? = nil, keeps: String? = nil) {
        self.name = name
        self.keeps = keeps
    }
}

/// A snapshot as the API reports it.
public struct SnapshotBody: Codable, Sendable, Equatable {
    public var id: String
    public var name: String?
    public var session: String
    public var provider: String
    public var template: String
    public var bytes: UInt64
    public var entries: Int
    public var createdAt: Date
    /// What a session started from it gets: `files`, or `processes` (the files and the running processes).
    public var keeps: String

    public init(_ s: Snapshot) {
        id = s.id
        name = s.name
        session = s.session.rawValue
        provider = s.provider
        template = s.template
        bytes = s.bytes
        entries = s.entries
        createdAt = s.createdAt
        keeps = s.keeps.rawValue
    }
}

public struct SnapshotListBody: Codable, Sendable {
    public var snapshots: [SnapshotBody]
    public init(snapshots: [SnapshotBody]) { self.snapshots = snapshots }
}

/// `POST /v1/sessions/{id}/fork`.
public struct ForkBody: Codable, Sendable {
    public var count: Int?
    /// `files` (the default) or `processes`: the children continue the parent's running processes (gVisor).
    public var keeps: String?
    public init(count: Int? = nil, keeps: String? = nil) {
        self.count = count
        self.keeps = keeps
    }
}
