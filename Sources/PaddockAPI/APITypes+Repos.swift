import Foundation
import PaddockCore

/// A cached repository as `GET /v1/repos` reports it.
public struct RepoBody: Codable, Sendable, Equatable {
    public var id: String
    public var url: String
    public var bytes: UInt64
    public var fetchedAt: Date?
    public var usedAt: Date?
    public var layers: [RepoLayerBody]

    public init(_ r: CachedRepository) {
        id = r.id
        url = r.url
        bytes = r.bytes
        fetchedAt = r.fetchedAt
        usedAt = r.usedAt
        layers = r.layers.map(RepoLayerBody.init)
    }
}

/// One commit's sealed checkout in the cache.
public struct RepoLayerBody: Codable, Sendable, Equatable {
    public var id: String
    public var commit: String
    public var branch: String
    public var bytes: UInt64
    public var createdAt: Date
    public var usedAt: Date
    public var inUse: Bool

    public init(_ l: CachedRepository.Layer) {
        id = l.id
        commit = l.commit
        branch = l.branch
        bytes = l.bytes
        createdAt = l.createdAt
        usedAt = l.usedAt
        inUse = l.inUse
    }
}

public struct RepoListBody: Codable, Sendable {
    public var repos: [RepoBody]
    public init(repos: [RepoBody]) { self.repos = repos }
}

/// `DELETE /v1/repos/{repo}`: what was removed, and the layers kept because sessions use them.
public struct RepoRemovedBody: Codable, Sendable, Equatable {
    public var url: String
    public var keptLayers: [String]
    public init(url: String, keptLayers: [String]) {
        self.url = url
        self.keptLayers = keptLayers
    }
}
