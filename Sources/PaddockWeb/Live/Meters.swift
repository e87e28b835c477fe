import Foundation
import PaddockSandbox

/// A session's CPU, memory, disk and processes as a person reads them, for the session page's header.
struct Meters: Sendable, Encodable {
    var cpu: String
    var memory: String
    var memoryPercent: Int
    var disk: String
    var diskPercent: Int
    var processes: String

    init(_ stats: SandboxStats) {
        cpu = String(format: "%.1f s of CPU", Double(stats.cpuNanoseconds) / 1e9)
        memory = "\(Self.size(stats.memoryBytes)) of \(Self.size(stats.memoryLimitBytes)) memory"
        memoryPercent = Self.percent(stats.memoryBytes, stats.memoryLimitBytes)
        disk = "\(Self.size(stats.diskUsedBytes)) of \(Self.size(stats.diskLimitBytes)) disk"
        diskPercent = Self.percent(stats.diskUsedBytes, stats.diskLimitBytes)
        processes = stats.pids == 1 ? "1 process" : "\(stats.pids) processes"
    }

    static func size(_ bytes: UInt64) -> String {
        let mib = Double(bytes) / Double(1 << 20)
        return mib >= 1024 ? String(format: "%.1f GiB", mib / 1024) : String(format: "%.0f MiB", mib)
    }

    static func percent(_ used: UInt64, _ limit: UInt64) -> Int {
        limit == 0 ? 0 : Int(min(100, (Double(used) / Double(limit) * 100).rounded()))
    }
}
