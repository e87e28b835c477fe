import Logging
import PaddockCore
import PaddockSandbox
import PaddockStore
import ServiceLifecycle

/// Warm pools: sandboxes of a template started ahead of time, so a session on it starts in milliseconds.
/// Setting a pool's size is for admins and is recorded in the organisation's trail. As a service of the
/// server's group it keeps every pool at its size, and on shutdown destroys the ready sandboxes, so none runs
/// unowned while the server is down (the next start refills them).
public struct WarmPoolService: Service {
    let sessions: SessionService
    /// How often the pools are brought back to their size.
    let interval: Duration

    public init(sessions: SessionService, interval: Duration = .seconds(1)) {
        self.sessions = sessions
        self.interval = interval
    }

    /// Sets how many warm sandboxes to keep ready; 0 removes the pool (its sandboxes are destroyed at the
    /// next refill).
    public func set(provider name: String, template: String, size: Int, by caller: Caller) async throws
        -> PoolStatus
    {
        try caller.authorizeOrg(.admin)
        guard let provider = sessions.providers[name] else {
            throw PaddockError.invalidArgument(
                "provider '\(name)' is not available on this server; use one of: \(sessions.providerNames.joined(separator: ", "))"
            )
        }
        // Only an existing template gets a pool (a removed one may keep a pool of 0, which drains it).
        if size > 0 { _ = try await TemplateService(sessions: sessions).warm(template) }
        guard (0...1000).contains(size) else {
            throw PaddockError.invalidArgument("a pool size must be 0 to 1000, not \(size)")
        }
        let target = PoolTarget(provider: name, template: template, size: size)
        try await sessions.store.setPoolTarget(target)
        sessions.poolTargets.set(target)
        try await sessions.orgTrail.record(
            "pool.set", ["provider": .string(name), "template": .string(template), "size": .int(Int64(size))],
            by: caller)
        return PoolStatus(
            provider: name, template: template, size: size, ready: await provider.readyCount(template: template))
    }

    public func list() async throws -> [PoolStatus] {
        var out: [PoolStatus] = []
        for t in try await sessions.store.poolTargets() {
            out.append(
                PoolStatus(
                    provider: t.provider, template: t.template, size: t.size,
                    ready: await sessions.providers[t.provider]?.readyCount(template: t.template) ?? 0))
        }
        return out
    }

    /// Brings every pool to its size; a pool set to 0 is drained.
    public func refill() async {
        let targets: [PoolTarget]
        do { targets = try await sessions.poolTargets.current(from: sessions.store) } catch {
            sessions.logger.error("could not read the warm pools' sizes", metadata: ["error": "\(error)"])
            return
        }
        for target in targets {
            guard let provider = sessions.providers[target.provider] else { continue }
            do {
                // Resolved on every refill: after a rebuild the pool moves to the template's new layer.
                let template =
                    target.size == 0
                    ? WarmTemplate(name: target.template)
                    : try await TemplateService(sessions: sessions).warm(target.template)
                _ = try await provider.fillPool(template, size: target.size)
            } catch {
                sessions.logger.warning(
                    "could not refill a warm pool",
                    metadata: ["pool.template": "\(target.template)", "error": "\(error)"])
            }
        }
        sessions.poolTargets.forgetDrained()
    }

    /// Destroys every ready warm sandbox (the sizes stay; the next start refills).
    public func drain() async {
        for provider in sessions.providers.values { await provider.drainWarm() }
    }

    public func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            await refill()
            // A period, not a wait for a condition: claims and size changes are picked up on the next round.
            do { try await Task.sleep(for: interval) } catch { break }
        }
        await drain()
    }
}
