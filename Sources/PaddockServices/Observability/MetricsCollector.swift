import Logging
import PaddockCore
import PaddockObservability
import PaddockSandbox

/// What is read at scrape time rather than counted as it happens: sessions by state, open approvals, warm pool
/// sizes, and each running session's CPU, memory, disk and network. Per-session series exist only while the
/// session runs; `ScrapedGauges` removes them at the first scrape after it stops.
public struct MetricsCollector: Sendable {
    let sessions: SessionService
    let logger: Logger
    let sessionCounts = ScrapedGauges(name: "paddock_sessions", labels: ["state", "provider", "team"])
    let approvalsPending = ScrapedGauges(name: "paddock_approvals_pending", labels: ["kind"])
    let poolReady = ScrapedGauges(name: "paddock_warm_pool_ready", labels: ["provider", "template"])
    let poolSize = ScrapedGauges(name: "paddock_warm_pool_size", labels: ["provider", "template"])
    let cpu = ScrapedGauges(name: "paddock_session_cpu_seconds_total", labels: ["session_id", "team"])
    let memory = ScrapedGauges(name: "paddock_session_memory_bytes", labels: ["session_id", "team"])
    let memoryLimit = ScrapedGauges(name: "paddock_session_memory_limit_bytes", labels: ["session_id", "team"])
    let disk = ScrapedGauges(name: "paddock_session_disk_bytes", labels: ["session_id", "team"])
    let network = ScrapedGauges(
        name: "paddock_session_network_bytes_total", labels: ["session_id", "team", "direction"])

    public init(sessions: SessionService, logger: Logger) {
        self.sessions = sessions
        self.logger = logger
    }

    /// Brings the scraped gauges up to date. A part that cannot be read keeps its last values and is logged:
    /// a scrape still answers with everything else.
    public func collect() async {
        let live: [Session]
        do { live = try await sessions.store.sessions(includeTerminal: false) } catch {
            logger.warning("metrics: could not list sessions", metadata: ["error": "\(error)"])
            return
        }
        var counts: [[String]: Double] = [:]
        for s in live { counts[[s.state.rawValue, s.spec.provider, s.team ?? ""], default: 0] += 1 }
        sessionCounts.update(counts)

        let pending = await sessions.guardrails.approvals.pendingByKind()
        var approvals: [[String]: Double] = [["exec"]: 0, ["network"]: 0]
        for (kind, n) in pending { approvals[[kind]] = Double(n) }
        approvalsPending.update(approvals)

        do {
            let pools = try await WarmPoolService(sessions: sessions).list()
            poolReady.update(Dictionary(pools.map { ([$0.provider, $0.template], Double($0.ready)) }) { $1 })
            poolSize.update(Dictionary(pools.map { ([$0.provider, $0.template], Double($0.size)) }) { $1 })
        } catch {
            logger.warning("metrics: could not read the warm pools", metadata: ["error": "\(error)"])
        }
        await collectResources(live.filter { $0.state == .running })
    }

    private func collectResources(_ running: [Session]) async {
        var cpuValues: [[String]: Double] = [:]
        var memoryValues: [[String]: Double] = [:]
        var limitValues: [[String]: Double] = [:]
        var diskValues: [[String]: Double] = [:]
        // Read concurrently: each is a few cgroup files, and 500 sessions one after the other would be slow.
        let stats = await withTaskGroup(of: (Session, SandboxStats?).self) { group in
            for s in running {
                group.addTask {
                    guard let provider = sessions.providers[s.spec.provider] else { return (s, nil) }
                    // A session that stops between the listing and this read has no stats: it is simply left out.
                    do { return (s, try await provider.stats(s.id)) } catch { return (s, nil) }
                }
            }
            var out: [(Session, SandboxStats)] = []
            for await (s, stat) in group { if let stat { out.append((s, stat)) } }
            return out
        }
        for (s, stat) in stats {
            let labels = [s.id.rawValue, s.team ?? ""]
            cpuValues[labels] = Double(stat.cpuNanoseconds) / 1e9
            memoryValues[labels] = Double(stat.memoryBytes)
            limitValues[labels] = Double(stat.memoryLimitBytes)
            diskValues[labels] = Double(stat.diskUsedBytes)
        }
        cpu.update(cpuValues)
        memory.update(memoryValues)
        memoryLimit.update(limitValues)
        disk.update(diskValues)
        var networkValues: [[String]: Double] = [:]
        if let sink = await sessions.network?.metrics {
            let teams = Dictionary(running.map { ($0.id.rawValue, $0.team ?? "") }) { $1 }
            for (id, bytes) in sink.networkBytes(keeping: Set(teams.keys)) {
                networkValues[[id, teams[id] ?? "", "up"]] = Double(bytes.up)
                networkValues[[id, teams[id] ?? "", "down"]] = Double(bytes.down)
            }
        }
        network.update(networkValues)
    }
}
