import Foundation
import Logging
import PaddockCore
import PaddockLinux
import PaddockSandbox

/// `paddock bench --density`: start idle sessions until `target` are running (or host memory runs short),
/// measure what each costs the host, check every one still answers an exec, then destroy them all and
/// check nothing leaked.
struct DensityBenchmark {
    let target: Int
    let dataDirectory: String
    let initBinary: String

    /// `MemAvailable` from /proc/meminfo, in MiB.
    static func availableMiB() -> Double { (Benchmarks.procField("MemAvailable", in: "/proc/meminfo") ?? 0) / 1024 }

    static func totalMiB() -> Double { Double(ProcessInfo.processInfo.physicalMemory) / 1_048_576 }

    func run() async throws -> Benchmarks.Report {
        var logger = Logger(label: "paddock.bench.density")
        logger.logLevel = .error
        let capabilities = await HostCapabilities.probe()
        let provider = try await LocalProvider.make(
            dataDirectory: dataDirectory, initBinary: initBinary, capabilities: capabilities, logger: logger)
        _ = await provider.recover(live: [])

        // Small limits: an idle session uses a fraction of them, and limits reserve nothing.
        let limits = ResourceLimits(memory: .mebibytes(256), cpus: 1, pids: 128, disk: .mebibytes(256))
        let before = Self.availableMiB()
        let floor = Self.totalMiB() * 0.1
        var ids: [SessionID] = []
        var createTimes: [Double] = []
        var stopReason = "reached the target"
        while ids.count < target {
            if Self.availableMiB() < floor {
                stopReason = "host memory ran short"
                break
            }
            let id = SessionID.random()
            do {
                createTimes.append(
                    try await Benchmarks.milliseconds {
                        try await provider.create(SandboxRequest(id: id, template: "host", limits: limits))
                    })
                ids.append(id)
            } catch {
                stopReason = "create failed after \(ids.count): \(error)"
                break
            }
        }
        try await Task.sleep(for: .seconds(2))
        let after = Self.availableMiB()
        let perSession = ids.isEmpty ? 0 : (before - after) / Double(ids.count)

        var execTimes: [Double] = []
        var unanswered = 0
        for id in ids {
            do {
                execTimes.append(try await Benchmarks.milliseconds { try await Benchmarks.runTrue(provider, id) })
            } catch {
                unanswered += 1
            }
        }

        var destroyTimes: [Double] = []
        for id in ids { destroyTimes.append(try await Benchmarks.milliseconds { try await provider.destroy(id) }) }
        let footprint = await provider.footprint()
        provider.removeCgroupParent()

        func scalar(_ name: String, _ unit: String, _ value: Double, note: String? = nil) -> Benchmarks.Result {
            Benchmarks.Result(name: name, unit: unit, n: 1, p50: value, p90: value, p99: value, note: note)
        }
        let host: [String: String] = [
            "kernel": capabilities.kernel, "cgroups": capabilities.cgroupMode.rawValue,
            "memory_gib": String(format: "%.1f", Self.totalMiB() / 1024), "target": String(target),
            "stopped_because": stopReason, "date": ISO8601DateFormatter().string(from: Date()),
        ]
        return Benchmarks.Report(
            host: host,
            results: [
                scalar("density.sessions", "count", Double(ids.count), note: stopReason),
                scalar("density.host_memory_per_session", "MiB", perSession, note: "drop in MemAvailable / sessions"),
                Benchmarks.summarize(
                    "density.create", unit: "ms", createTimes, note: "cold start while filling the host"),
                Benchmarks.summarize(
                    "density.exec", unit: "ms", execTimes, note: "`true` in every session, all running"),
                scalar(
                    "density.unanswered", "count", Double(unanswered), note: "sessions that did not answer (must be 0)"),
                Benchmarks.summarize("density.destroy", unit: "ms", destroyTimes),
                scalar(
                    "density.leaked", "count",
                    Double(
                        footprint.sessionDirectories + footprint.mounts + footprint.runtimeContainers
                            + footprint.cgroups),
                    note: "dirs, mounts, runtime state and cgroups left after destroying all (must be 0)"),
            ])
    }
}
