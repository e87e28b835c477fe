import Foundation
import PaddockCore
import PaddockSandbox

/// Live per-session resources (`GET /v1/resources`, `/v1/sessions/{id}/resources`, `paddock top`): each running
/// session's CPU, memory, disk and gateway bytes, read from its sandbox's cgroup and the gateway's counters.
/// CPU is a rate, so the monitor keeps each session's previous reading and reports the share of a core used
/// since then; a session without a recent reading gets its average since it started (as `top`'s first screen).
public actor ResourceMonitor {
    let sessions: SessionService
    private var previous: [SessionID: (cpuNanoseconds: UInt64, at: ContinuousClock.Instant)] = [:]

    /// Readings older than this are not compared with: the rate would average over minutes of someone not looking.
    static let staleAfter: Duration = .seconds(30)

    public init(sessions: SessionService) { self.sessions = sessions }

    /// One reading of every running session the caller can see, or only of `session`.
    public func snapshot(session only: SessionID? = nil, by caller: Caller) async throws -> ResourceSnapshot {
        var live: [Session]
        if let only {
            live = [try await sessions.get(only, for: caller, needs: .read)]
        } else {
            live = try await sessions.list(includeEnded: false, for: caller)
        }
        live = live.filter { $0.state == .running }
        let rows = await read(live)
        if only == nil {
            let running = Set(live.map(\.id))
            previous = previous.filter { running.contains($0.key) }
        }
        return ResourceSnapshot(at: Date(), sessions: rows.sorted { $0.session.rawValue < $1.session.rawValue })
    }

    /// Whether the session can still be followed (it exists, the caller may read it, and it runs).
    public func isRunning(_ id: SessionID, by caller: Caller) async throws -> Bool {
        try await sessions.get(id, for: caller, needs: .read).state == .running
    }

    private func read(_ live: [Session]) async -> [SessionResources] {
        let providers = sessions.providers
        // Concurrently: each is a few cgroup files, and many sessions one after the other would be slow.
        let stats = await withTaskGroup(of: (Session, SandboxStats?).self) { group in
            for s in live {
                group.addTask {
                    guard let provider = providers[s.spec.provider] else { return (s, nil) }
                    // A session that stops between the listing and this read has no stats: it is left out.
                    do { return (s, try await provider.stats(s.id)) } catch { return (s, nil) }
                }
            }
            var out: [(Session, SandboxStats, ContinuousClock.Instant)] = []
            for await (s, stat) in group { if let stat { out.append((s, stat, .now)) } }
            return out
        }
        let gateway = await sessions.network?.metrics
        var rows: [SessionResources] = []
        for (s, stat, at) in stats {
            var cpuPercent: Double?
            if let last = previous[s.id], at - last.at <= Self.staleAfter, stat.cpuNanoseconds >= last.cpuNanoseconds {
                let wall = (at - last.at) / .seconds(1)
                if wall > 0 { cpuPercent = Double(stat.cpuNanoseconds - last.cpuNanoseconds) / 1e9 / wall * 100 }
            } else {
                let lifetime = Date().timeIntervalSince(s.createdAt)
                if lifetime > 0 { cpuPercent = Double(stat.cpuNanoseconds) / 1e9 / lifetime * 100 }
            }
            previous[s.id] = (stat.cpuNanoseconds, at)
            let bytes = gateway?.networkBytes(session: s.id.rawValue) ?? (up: 0, down: 0)
            rows.append(
                SessionResources(
                    session: s.id, name: s.spec.name, team: s.team, provider: s.spec.provider, cpuPercent: cpuPercent,
                    cpuSeconds: Double(stat.cpuNanoseconds) / 1e9, memoryBytes: stat.memoryBytes,
                    memoryLimitBytes: stat.memoryLimitBytes, diskUsedBytes: stat.diskUsedBytes,
                    diskLimitBytes: stat.diskLimitBytes, pids: stat.pids, networkUpBytes: bytes.up,
                    networkDownBytes: bytes.down))
        }
        return rows
    }
}
