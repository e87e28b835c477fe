import Foundation
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// Warm pools: sessions claim pre-started sandboxes, get their own limits, and the pool refills.
@Suite(.needsSandboxes, .serialized)
struct WarmPoolTests {
    @Test func sessionsClaimWarmSandboxesWithTheirOwnLimits() async throws {
        try await withTestStack("pool") { stack in
            _ = try await stack.sessions.setPool(provider: "local", template: "host", size: 2)
            await stack.sessions.refillPools()
            #expect(try await stack.sessions.pools() == [.init(provider: "local", template: "host", size: 2, ready: 2)])

            var spec = SessionSpec()
            spec.limits = ResourceLimits(memory: .mebibytes(300), cpus: 0.5, pids: 77, disk: .mebibytes(40))
            let s = try await stack.sessions.create(spec)
            #expect(s.start == "warm")
            #expect(try await stack.sessions.pools().first?.ready == 1)
            let r = try await stack.sessions.sh(
                s.id,
                "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null "
                    + "|| cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; df -m /workspace | tail -1 | tr -s ' ' | cut -d' ' -f4; id -u"
            )
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.starts(with: ["\(300 << 20)", "77"]), "\(r.stdout)")
            // What is free to write is the session's cap (a claim shrinks a warm disk by reserving the rest).
            #expect(lines.contains("40") || lines.contains("39"), "the writable layer takes the disk cap: \(r.stdout)")
            #expect(lines.last == "1000")
            // The limits hold, not just read back: the layer is full at 40MiB.
            let fill = try await stack.sessions.sh(s.id, "dd if=/dev/zero of=/workspace/f bs=1M count=80 2>&1")
            #expect(fill.stdout.contains("No space left"))

            await stack.sessions.refillPools()
            #expect(try await stack.sessions.pools().first?.ready == 2)
        }
    }

    /// A claim asking for more disk than the default is still warm (warm disks are made with room to spare,
    /// held back until claimed); the extra space is really there, and the new limit holds.
    @Test func aClaimWithALargerDiskStaysWarm() async throws {
        try await withTestStack("pool-grow") { stack in
            _ = try await stack.sessions.setPool(provider: "local", template: "host", size: 1)
            await stack.sessions.refillPools()
            var spec = SessionSpec()
            spec.limits.disk = .gibibytes(3)
            let s = try await stack.sessions.create(spec)
            #expect(s.start == "warm")
            let r = try await stack.sessions.sh(
                s.id,
                "fallocate -l 2G /workspace/big && echo allocated; df -m /workspace | tail -1 | tr -s ' ' | cut -d' ' -f4"
            )
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "allocated", "\(r.stdout)\(r.stderr)")
            let free = Int(lines.last ?? "") ?? 0
            #expect((1000...1024).contains(free), "about 1 GiB is left of 3: \(r.stdout)")
            let over = try await stack.sessions.sh(s.id, "fallocate -l 2G /workspace/more 2>&1; echo rc=$?")
            #expect(over.stdout.contains("No space left"), "\(over.stdout)")
            #expect(try await stack.sessions.stats(s.id).diskLimitBytes == 3 << 30)
        }
    }

    @Test func anEmptyOrMissingPoolFallsBackToAColdStartAndSaysSo() async throws {
        try await withTestStack("pool-cold") { stack in
            let none = try await stack.sessions.create(SessionSpec())
            #expect(none.start?.hasPrefix("cold: no warm pool") == true)
            _ = try await stack.sessions.setPool(provider: "local", template: "host", size: 1)
            await stack.sessions.refillPools()
            #expect(try await stack.sessions.create(SessionSpec()).start == "warm")
            let cold = try await stack.sessions.create(SessionSpec())
            #expect(cold.start?.contains("empty") == true, "\(cold.start ?? "")")
            // Removing the pool destroys its ready sandboxes.
            _ = try await stack.sessions.setPool(provider: "local", template: "host", size: 0)
            await stack.sessions.refillPools()
            #expect(await stack.provider.footprint().sessionDirectories == 3)
            await #expect(throws: PaddockError.self) {
                _ = try await stack.sessions.setPool(provider: "local", template: "nope", size: 1)
            }
        }
    }
}
