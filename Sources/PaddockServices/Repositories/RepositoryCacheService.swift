import Foundation
import PaddockCore
import PaddockSandbox

/// `paddock repos`: what the server's repository cache holds (mirrors, commit layers, their sizes and last use),
/// a fetch on demand, removal, and collection under a size cap. The cache serves every team, so this is for
/// owners and admins; every change is recorded in the organisation's trail.
public struct RepositoryCacheService: Sendable {
    let sessions: SessionService

    public init(sessions: SessionService) { self.sessions = sessions }

    private func cache() async throws -> RepositoryCache {
        guard let cache = await sessions.repositories?.cache else {
            throw PaddockError.unavailable("this server keeps no repository cache; start it with a data directory")
        }
        return cache
    }

    /// The layers live sessions' /workspace are views of (the store says which commit each started on).
    func layersInUse() async throws -> Set<String> {
        let live = try await sessions.store.sessions(includeTerminal: false).filter { $0.state.holdsResources }
        return Set(
            live.compactMap { session in
                session.spec.repository.map {
                    RepositoryCache.layerID(url: $0.url, branch: $0.branch, commit: $0.base)
                }
            })
    }

    public func list(by caller: Caller) async throws -> [CachedRepository] {
        try caller.authorizeOrg(.admin)
        return try await cache().summaries(inUse: try await layersInUse())
    }

    /// Fetches a cached repository (by id or URL) from its origin now.
    public func refresh(_ name: String, by caller: Caller) async throws -> CachedRepository {
        try caller.authorizeOrg(.admin)
        let cache = try await cache()
        guard let record = cache.find(name) else { throw Self.missing }
        try await cache.refresh(record.url)
        try await sessions.orgTrail.record("repos.refresh", ["repository": .string(record.url)], by: caller)
        return try await summary(record.url, cache)
    }

    /// The cached mirrors of the GitHub repository `owner/name` (any of the URL spellings).
    public func mirrors(ofGitHub fullName: String) async -> [String] {
        guard let cache = await sessions.repositories?.cache else { return [] }
        return cache.records().map(\.url).filter { Self.url($0, isGitHub: fullName) }
    }

    /// A push to the GitHub repository `owner/name` (a verified webhook delivery): every cached mirror of it is
    /// fetched now, and where the cache holds a layer of the pushed branch, the branch's new commit is sealed too
    /// (from that layer: a few changed files cost a few files), so the next session on it starts at once. Recorded
    /// in the organisation's trail as `repos.refresh` by the system. Returns the URLs fetched.
    public func receivePush(repository fullName: String, branch: String?) async throws -> [String] {
        // A server without a cache has nothing to refresh; the delivery is still a valid one.
        guard let cache = await sessions.repositories?.cache else { return [] }
        var refreshed: [String] = []
        for record in cache.records() where Self.url(record.url, isGitHub: fullName) {
            let layered = branch.flatMap { branch in record.layers.values.first { $0.branch == branch } }
            do {
                if let branch, let layered, let provider = sessions.providers[layered.provider],
                    provider.sharesWorkspaceLayers
                {
                    let checkout = try await cache.checkout(
                        SessionRepository(url: record.url, branch: branch), layerOn: provider, fetch: true,
                        touch: false)
                    if let layer = checkout.layer { cache.starting.unpin(layer) }
                } else {
                    try await cache.refresh(record.url)
                }
            } catch {
                // Another mirror of the same repository may still be fetched; the next session tries this one again.
                sessions.logger.warning(
                    "a pushed repository could not be refreshed",
                    metadata: ["repository": "\(record.url)", "error": "\(error)"])
                continue
            }
            try await sessions.orgTrail.record(
                "repos.refresh",
                ["repository": .string(record.url), "trigger": .string("github push"), "branch": .optional(branch)],
                by: .system)
            refreshed.append(record.url)
        }
        return refreshed
    }

    /// Fetches every cached branch a session used within `recent` and seals its latest commit (from the branch's
    /// previous layer) if it moved, so the next session on it neither fetches nor seals. A prepared layer does not
    /// count as used: a branch no session comes back to stops being prepared after `recent`, and its layers are
    /// the first collected. Returns the layers sealed.
    public func prepareRecentBranches(usedWithin recent: Duration) async -> [String] {
        guard let cache = await sessions.repositories?.cache else { return [] }
        let since = cache.clock().addingTimeInterval(-Double(recent.components.seconds))
        var sealed: [String] = []
        for record in cache.records() {
            let branches = Set(
                record.layers.values.filter { $0.usedAt >= since }.map {
                    BranchOn(branch: $0.branch, provider: $0.provider)
                })
            for target in branches.sorted(by: { $0.branch < $1.branch }) {
                guard let provider = sessions.providers[target.provider], provider.sharesWorkspaceLayers else {
                    continue
                }
                do {
                    let checkout = try await cache.checkout(
                        SessionRepository(url: record.url, branch: target.branch), layerOn: provider, fetch: true,
                        touch: false)
                    if let layer = checkout.layer {
                        cache.starting.unpin(layer)
                        if checkout.sealed { sealed.append(layer) }
                    }
                } catch {
                    sessions.logger.warning(
                        "could not prepare a repository branch; its next session fetches and seals it",
                        metadata: ["repository": "\(record.url)", "branch": "\(target.branch)", "error": "\(error)"])
                }
            }
        }
        return sealed
    }

    private struct BranchOn: Hashable {
        var branch: String
        var provider: String
    }

    /// Whether `url` is the GitHub repository `owner/name`, in any of its spellings (HTTPS or SSH, with or without
    /// `.git`), case-insensitively as GitHub names are.
    public static func url(_ url: String, isGitHub fullName: String) -> Bool {
        var url = url.lowercased()
        if url.hasSuffix("/") { url.removeLast() }
        if url.hasSuffix(".git") { url.removeLast(4) }
        let name = fullName.lowercased()
        return url.hasSuffix("/" + name) || url.hasSuffix(":" + name)
    }

    /// Removes a cached repository's layers and mirror; layers a live session uses stay (and with them the
    /// mirror's record), and the answer lists them.
    public func remove(_ name: String, by caller: Caller) async throws -> (url: String, kept: [String]) {
        try caller.authorizeOrg(.admin)
        let cache = try await cache()
        guard let record = cache.find(name) else { throw Self.missing }
        let kept = try await cache.remove(record.url, providers: sessions.providers, inUse: try await layersInUse())
        try await sessions.orgTrail.record(
            "repos.remove", ["repository": .string(record.url), "kept_layers": .strings(kept)], by: caller)
        return (record.url, kept)
    }

    /// Removes least recently used layers, then mirrors, until the cache holds at most `limit` bytes; never a
    /// layer in use. Run by the server in the background (`--repo-cache-size`).
    public func collect(limit: UInt64) async throws -> [String] {
        let cache = try await cache()
        let removed = await cache.collect(limit: limit, providers: sessions.providers, inUse: try await layersInUse())
        if !removed.isEmpty {
            sessions.logger.info(
                "repository cache collected", metadata: ["removed": "\(removed.count)", "limit": "\(limit)"])
        }
        return removed
    }

    private func summary(_ url: String, _ cache: RepositoryCache) async throws -> CachedRepository {
        guard let found = cache.summaries(inUse: try await layersInUse()).first(where: { $0.url == url }) else {
            throw Self.missing
        }
        return found
    }

    static let missing = PaddockError.notFound(
        "no cached repository has that id or URL; `paddock repos list` shows what the cache holds")
}
