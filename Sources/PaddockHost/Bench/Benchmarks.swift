import Foundation
import Logging
import PaddockCLI
import PaddockCore
import PaddockLinux
import PaddockSandbox
import Subprocess
import SystemPackage

/// `paddock bench`: Paddock and its peers measured side by side, in one run on one machine, so the ratios
/// mean something even though absolute numbers depend on the host.
struct Benchmarks {
    let iterations: Int
    let dataDirectory: String
    let initBinary: String
    /// The groups to measure; all of them unless `--only` names some.
    var groups: Set<Group> = Set(Group.allCases)
    /// Files per generated repository of the `repo` group.
    var repoFiles: [Int] = [20_000, 100_000]

    /// Measurements that run together (they share set-up), selectable with `paddock bench --only`.
    enum Group: String, CaseIterable, Sendable {
        case policy, gateway, audit, web, trigger, start, snapshot, exec, memory, preview, repo, metrics, mcp
        /// gVisor alone: its cold and warm starts, an exec in a running sandbox, and stop to disk (also in `start`).
        case gvisor

        /// Parses `--only` values, comma-separated or repeated.
        static func parse(_ values: [String]) throws(PaddockError) -> Set<Group> {
            let names = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            var groups: Set<Group> = []
            for name in names where !name.isEmpty {
                guard let group = Group(rawValue: name) else {
                    throw .invalidArgument(
                        "'\(name)' is not a benchmark group; use one or more of "
                            + Group.allCases.map(\.rawValue).joined(separator: ", "))
                }
                groups.insert(group)
            }
            return groups.isEmpty ? Set(allCases) : groups
        }
    }

    struct Result: Codable {
        var name: String
        var unit: String
        var n: Int
        var p50: Double
        var p90: Double
        var p99: Double
        var note: String?
    }

    struct Report: Codable {
        var host: [String: String]
        var results: [Result]

        func table() -> String {
            var lines = ["name                       unit       n        p50        p90        p99"]
            for r in results {
                lines.append(
                    r.name.padding(26) + " " + r.unit.padding(4)
                        + String(format: " %7d %10.3f %10.3f %10.3f", r.n, r.p50, r.p90, r.p99)
                        + (r.note.map { "  (\($0))" } ?? ""))
            }
            return lines.joined(separator: "\n")
        }
    }

    static func summarize(_ name: String, unit: String, _ samples: [Double], note: String? = nil) -> Result {
        let sorted = samples.sorted()
        func pct(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
            return sorted[min(sorted.count - 1, max(0, rank))]
        }
        return Result(name: name, unit: unit, n: sorted.count, p50: pct(50), p90: pct(90), p99: pct(99), note: note)
    }

    static func milliseconds(_ body: () async throws -> Void) async rethrows -> Double {
        let start = ContinuousClock.now
        try await body()
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    func run() async throws -> Report {
        var logger = Logger(label: "paddock.bench")
        logger.logLevel = .error
        let capabilities = await HostCapabilities.probe()
        var results: [Result] = []
        var host: [String: String] = [
            "kernel": capabilities.kernel, "cgroups": capabilities.cgroupMode.rawValue,
            "cpus": String(ProcessInfo.processInfo.activeProcessorCount),
            "memory_gib": String(format: "%.1f", Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824),
            "date": ISO8601DateFormatter().string(from: Date()), "iterations": String(iterations),
        ]
        for r in capabilities.runtimes { host["runtime.\(r.name)"] = r.version ?? "absent" }

        // paddock.policy_decision: in-process decisions against 200-rule policies (microseconds).
        for r in groups.contains(.policy) ? try PolicyBenchmark.run(samples: 100_000) : [] {
            // The command decision is the contract's `paddock.policy_decision`; network and file ride along.
            let name = r.name.hasSuffix(".command") ? "paddock.policy_decision" : "paddock.\(r.name)"
            results.append(
                Result(
                    name: name, unit: "us", n: r.samples, p50: r.p50, p90: r.p90, p99: r.p99, note: "200-rule policy"))
        }

        if groups.contains(.gateway) { results += try await GatewayBenchmark(iterations: iterations).run() }
        if groups.contains(.metrics) { results += try await MetricsBenchmark(iterations: iterations).run() }
        if groups.contains(.audit) {
            results += try await AuditBenchmark.run(directory: dataDirectory, samples: max(iterations * 20, 500))
        }
        if groups.contains(.web) {
            results += try await UIBenchmark(directory: dataDirectory, iterations: iterations).run()
        }
        if groups.contains(.trigger) {
            results += try await TriggerBenchmark.run(directory: dataDirectory, samples: max(iterations * 10, 200))
        }
        guard !groups.isDisjoint(with: [.start, .snapshot, .exec, .memory, .preview, .repo, .trigger, .mcp, .gvisor])
        else {
            return Report(host: host, results: results)
        }
        let provider = try await LocalProvider.make(
            dataDirectory: dataDirectory, initBinary: initBinary, capabilities: capabilities, logger: logger)
        _ = await provider.recover(live: [])
        if groups.contains(.start) { results += try await startResults(provider, capabilities: capabilities) }
        if groups.contains(.start) || groups.contains(.gvisor) {
            results += try await gvisorStartResults(capabilities: capabilities, logger: logger)
        }
        if groups.contains(.snapshot) { results += try await snapshotResults(provider) }
        if groups.contains(.exec) {
            // paddock.exec: `true` in a running session, to its exit status.
            let execID = SessionID.random()
            try await provider.create(SandboxRequest(id: execID, template: "host", limits: .default))
            results.append(
                Self.summarize(
                    "paddock.exec", unit: "ms",
                    try await samples(count: iterations * 3) { try await Self.runTrue(provider, execID) }))
            try await provider.destroy(execID)
            results += try await ExecGuardBenchmark.run(
                provider: provider, samples: { try await samples(count: iterations * 3, $0) }, logger: logger)
            results += try await MetricsExecBenchmark(provider: provider, count: iterations * 3).run(logger: logger)
        }
        if groups.contains(.mcp) {
            results += try await MCPBenchmark(iterations: iterations, provider: provider, directory: dataDirectory)
                .run()
        }
        if groups.contains(.memory) { results += try await memoryResults(provider) }
        if groups.contains(.preview) {
            results += try await PreviewBenchmark(iterations: iterations, provider: provider).run()
        }
        if groups.contains(.repo) {
            results += try await RepoBenchmark(
                iterations: iterations, provider: provider, dataDirectory: dataDirectory, fileCounts: repoFiles
            ).run()
        }
        if groups.contains(.trigger) {
            results += try await TriggerAgentBenchmark(
                iterations: iterations, provider: provider, dataDirectory: dataDirectory
            ).run()
        }
        provider.removeCgroupParent()
        return Report(host: host, results: results)
    }

    /// The floor (`true` spawned directly), the peers (bwrap, runc, runsc) and Paddock's cold and warm starts.
    private func startResults(_ provider: LocalProvider, capabilities: HostCapabilities) async throws -> [Result] {
        var results: [Result] = []
        // limit.spawn: the floor — `true` spawned directly, through the same spawn path as the peers.
        results.append(
            Self.summarize("limit.spawn", unit: "ms", try await samples { try await Self.spawn("/usr/bin/true", []) }))

        if let bwrap = HostCommand.find("bwrap") {
            let args = [
                "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
                "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev",
                "--tmpfs", "/tmp", "/usr/bin/true",
            ]
            results.append(
                Self.summarize("peer.bwrap", unit: "ms", try await samples { try await Self.spawn(bwrap, args) }))
        }

        let peers = try await PeerBundles.prepare(dataDirectory: dataDirectory, provider: provider)
        defer { peers.remove() }
        if let runc = capabilities.runtimes.first(where: { $0.name == "runc" && $0.usable })?.path {
            var n = 0
            results.append(
                Self.summarize(
                    "peer.runc", unit: "ms",
                    try await samples {
                        n += 1
                        try await Self.spawn(
                            runc,
                            [
                                "--root", peers.runcRoot, "run", "--bundle", peers.runcBundle,
                                "bench-runc-\(getpid())-\(n)",
                            ])
                    }, note: "raw `runc run` of an equivalent bundle running true"))
        }
        if let found = capabilities.runtimes.first(where: { $0.name == "runsc" && $0.usable }), let runsc = found.path {
            // The platform the gvisor provider uses with this runsc, so the peer and Paddock compare alike.
            let platform = GVisorRuntime.platform(version: found.version)
            var n = 0
            let runscSamples = try await samples(count: min(iterations, 10)) {
                n += 1
                try await Self.spawn(
                    runsc,
                    [
                        "--root", peers.runscRoot, "--platform=\(platform)", "--network=none", "run", "--bundle",
                        peers.runscBundle, "bench-runsc-\(getpid())-\(n)",
                    ])
            }
            results.append(Self.summarize("peer.runsc", unit: "ms", runscSamples, note: "gVisor, platform \(platform)"))
        }

        // paddock.cold_start: create a fully isolated, limited sandbox and run `true` in it, to its exit.
        let cold = try await coldStartSamples(provider, count: iterations)
        results.append(Self.summarize("paddock.cold_start", unit: "ms", cold, note: "create → `true` exited, no pool"))

        // paddock.warm_start: the same, claiming a pre-started sandbox from a warm pool (limits applied on
        // claim). The pool is refilled between samples, outside the timing.
        let sessionLimits = ResourceLimits(memory: .mebibytes(512), cpus: 1, pids: 256, disk: .mebibytes(512))
        let warmSamples = try await warmStartSamples(provider, limits: sessionLimits)
        results.append(
            Self.summarize(
                "paddock.warm_start", unit: "ms", warmSamples, note: "claim from a warm pool → `true` exited"))

        return results
    }

    /// Host memory of idle sandboxes, three ways.
    private func memoryResults(_ provider: LocalProvider) async throws -> [Result] {
        var results: [Result] = []
        // paddock.idle_rss: host memory per idle session (init's RSS; the runtime does not stay resident).
        var ids: [SessionID] = []
        var rss: [Double] = []
        var pss: [Double] = []
        var cgroup: [Double] = []
        for _ in 0..<10 {
            let id = SessionID.random()
            try await provider.create(SandboxRequest(id: id, template: "host", limits: .default))
            ids.append(id)
        }
        try await Task.sleep(for: .milliseconds(200))
        for id in ids {
            if let pid = await provider.initPID(id) {
                if let kib = Self.procField("VmRSS", in: "/proc/\(pid)/status") { rss.append(kib / 1024) }
                if let kib = Self.procField("Pss", in: "/proc/\(pid)/smaps_rollup") { pss.append(kib / 1024) }
            }
            if let stats = try? await provider.stats(id) { cgroup.append(Double(stats.memoryBytes) / 1_048_576) }
        }
        for id in ids { try await provider.destroy(id) }
        results.append(
            Self.summarize(
                "paddock.idle_rss", unit: "MiB", rss, note: "VmRSS of an idle sandbox's processes (init only)"))
        results.append(
            Self.summarize(
                "paddock.idle_pss", unit: "MiB", pss,
                note: "same, proportional: shared binary pages split across 10 sandboxes"))
        results.append(
            Self.summarize(
                "paddock.idle_memcg", unit: "MiB", cgroup,
                note: "memory cgroup charge of an idle sandbox (kernel + page cache)"))
        return results
    }

    func samples(count: Int? = nil, _ body: () async throws -> Void) async throws -> [Double] {
        // One warm-up run so page-cache misses of the first start do not count.
        try await body()
        var out: [Double] = []
        for _ in 0..<(count ?? iterations) { out.append(try await Self.milliseconds(body)) }
        return out
    }

    /// Creates a sandbox with the default limits and runs `true` in it, to its exit, `count` times.
    func coldStartSamples(_ provider: LocalProvider, count: Int) async throws -> [Double] {
        var samples: [Double] = []
        for _ in 0..<count {
            let id = SessionID.random()
            samples.append(
                try await Self.milliseconds {
                    try await provider.create(SandboxRequest(id: id, template: "host", limits: .default))
                    try await Self.runTrue(provider, id)
                })
            try await provider.destroy(id)
        }
        return samples
    }

    /// Claims a sandbox from a one-sandbox warm pool with `limits` and runs `true` in it, `iterations` times;
    /// the pool is refilled between samples, outside the timing.
    func warmStartSamples(_ provider: LocalProvider, limits: ResourceLimits) async throws -> [Double] {
        var samples: [Double] = []
        for _ in 0..<iterations {
            _ = try await provider.fillPool(.host, size: 1)
            var claimed: SessionID?
            samples.append(
                try await Self.milliseconds {
                    guard let id = await provider.claimWarm(template: .host, limits: limits, layer: nil) else {
                        throw PaddockError.internal("the \(provider.name) warm pool was empty")
                    }
                    claimed = id
                    try await Self.runTrue(provider, id)
                })
            if let claimed { try await provider.destroy(claimed) }
        }
        _ = try await provider.fillPool(.host, size: 0)
        return samples
    }

    static func runTrue(_ provider: LocalProvider, _ id: SessionID) async throws {
        let handle = try await provider.initClient(id).exec(
            ExecRequest(argv: ["/usr/bin/true"], env: SandboxLayout.baseEnvironment(), cwd: SandboxLayout.workspace)
        )
        for try await event in handle.events {
            if case .exited(let status) = event, status.code != 0 {
                throw PaddockError.internal("true exited \(status.code) in the sandbox")
            }
        }
    }

    static func spawn(_ path: String, _ args: [String]) async throws {
        let r = try await Subprocess.run(
            .path(FilePath(path)), arguments: Arguments(args), output: .discarded, error: .string(limit: 4096))
        guard case .exited(0) = r.terminationStatus else {
            throw PaddockError.internal("\(path) \(args.joined(separator: " ")) failed: \(r.standardError)")
        }
    }

    /// A `Name: <n> kB` field of a /proc file (status, smaps_rollup, meminfo), in KiB.
    static func procField(_ name: String, in path: String) -> Double? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
        }
        return nil
    }
}
