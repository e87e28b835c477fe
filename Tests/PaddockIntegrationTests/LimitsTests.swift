import Foundation
import PaddockCore
import PaddockSandbox
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

@testable import PaddockLinux

/// A memory hog, a fork bomb and a disk filler are each contained to their own sandbox and reported, under
/// runc and under gVisor (where the limits hold inside gVisor's kernel: see `GVisorLimits`).
@Suite(.needsSandboxes, .serialized)
struct LimitsTests {
    /// The providers every limit test runs on. A gVisor case on a host without a runsc that contains limits
    /// passes without running (`paddock doctor` says why; `make deps` installs one).
    static let providers = ["local", "gvisor"]

    static func available(_ provider: String) async -> Bool {
        guard provider == "gvisor" else { return true }
        let capabilities = await TestHost.capabilities()
        let runsc = capabilities.runtimes.contains { $0.name == "runsc" && $0.usable }
        if !(runsc && capabilities.gvisorContainsLimits) {
            print("skipped on gvisor: no runsc that contains limits (make deps installs one)")
            return false
        }
        return true
    }

    @Test(arguments: providers) func aMemoryHogIsKilledAndReportedAsOutOfMemory(provider: String) async throws {
        guard await Self.available(provider) else { return }
        try await withTestStack("lim-mem") { stack in
            var spec = SessionSpec(provider: provider)
            spec.limits.memory = .mebibytes(64)
            let s = try await stack.sessions.create(spec)
            let r = try await stack.sessions.run(
                s.id, ["python3", "-c", "x = bytearray(512 * 1024 * 1024); print('survived')"])
            #expect(!r.stdout.contains("survived"))
            if provider == "gvisor" {
                // gVisor's kernel refuses the allocation (RLIMIT_AS): the hog sees ENOMEM, nothing is killed.
                #expect(r.status.code == 1 && r.stderr.contains("MemoryError"), "\(r.status) \(r.stderr)")
            } else {
                #expect(r.status.signal == 9)
                #expect(r.status.code == 137)
                #expect(r.status.outOfMemory)
            }
            // The sandbox itself survives its hog and keeps working.
            #expect(try await stack.sessions.sh(s.id, "echo alive").stdout == "alive\n")
            #expect(try await stack.sessions.get(s.id).state == .running)
            let stats = try await stack.sessions.stats(s.id)
            if provider == "gvisor" {
                // The host cgroup is the outer bound, with the sentry's headroom, and was never reached.
                #expect(stats.memoryLimitBytes == GVisorLimits.hostCeiling(spec.limits).memory.bytes)
                #expect(stats.oomEvents == 0)
            } else {
                #expect(stats.memoryLimitBytes == 64 << 20)
                #expect(stats.oomEvents > 0)
            }
        }
    }

    @Test(arguments: providers) func aForkBombHitsThePidLimit(provider: String) async throws {
        guard await Self.available(provider) else { return }
        try await withTestStack("lim-pids") { stack in
            var spec = SessionSpec(provider: provider)
            spec.limits.pids = 64
            let s = try await stack.sessions.create(spec)
            // 200 background sleeps against a limit of 64: forks start failing, the sandbox stays bounded.
            let script = """
                import os, time
                ok = failed = 0
                for i in range(200):
                    try:
                        if os.fork() == 0:
                            time.sleep(2)
                            os._exit(0)
                        ok += 1
                    except OSError:
                        failed += 1
                print(ok, failed, flush=True)
                while True:
                    try:
                        os.wait()
                    except ChildProcessError:
                        break
                print("finished")
                """
            let bomb = try await stack.sessions.exec(s.id, SessionCommand(["python3", "-c", script]), by: .system)
            var peak = 0
            var stderr = ""
            var stdout = ""
            let sampler = Task {
                var peak = 0
                while !Task.isCancelled {
                    peak = max(peak, (try? await stack.sessions.stats(s.id).pids) ?? 0)
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return peak
            }
            for try await event in bomb.events {
                if case .stderr(let b) = event { stderr += String(decoding: b, as: UTF8.self) }
                if case .stdout(let b) = event { stdout += String(decoding: b, as: UTF8.self) }
            }
            sampler.cancel()
            peak = await sampler.value
            let counts = stdout.split(separator: "\n").first?.split(separator: " ").compactMap { Int($0) } ?? []
            // runc counts the forking process against the limit, gVisor's RLIMIT_NPROC lets it have 64 children.
            #expect(counts.count == 2 && counts[0] <= 64 && counts[1] > 100, "forked/failed: \(stdout) \(stderr)")
            #expect(stdout.hasSuffix("finished\n"))
            if provider == "gvisor" {
                // The host counts the sentry's threads, not the sandbox's processes; its ceiling was never hit.
                #expect(peak <= GVisorLimits.hostCeiling(spec.limits).pids, "host tasks \(peak)")
                #expect(try await stack.sessions.stats(s.id).pidLimitHits == 0)
            } else {
                #expect(peak > 10 && peak <= 64, "peak process count \(peak)")
                #expect(try await stack.sessions.stats(s.id).pidLimitHits > 0, "the limit hits are reported")
            }
            #expect(try await stack.sessions.get(s.id).state == .running)
            // Once the bomb is over, the sandbox works normally.
            #expect(try await stack.sessions.sh(s.id, "echo recovered").stdout == "recovered\n")
        }
    }

    /// On /workspace and on /tmp, which is the same writable layer (gVisor would otherwise put a memory-backed
    /// tmpfs there, and filling it killed the whole sandbox).
    @Test(arguments: providers, ["/workspace", "/tmp"])
    func aDiskFillerGetsENOSPCInsideItsOwnLayer(provider: String, directory: String) async throws {
        guard await Self.available(provider) else { return }
        try await withTestStack("lim-disk") { stack in
            var spec = SessionSpec(provider: provider)
            spec.limits.disk = .mebibytes(16)
            let s = try await stack.sessions.create(spec)
            let r = try await stack.sessions.sh(
                s.id, "dd if=/dev/zero of=\(directory)/fill bs=1M count=64 2>&1; echo rc=$?")
            #expect(r.stdout.contains("No space left on device"), "\(r.stdout)")
            #expect(!r.stdout.contains("rc=0"))
            let stats = try await stack.sessions.stats(s.id)
            #expect(stats.diskLimitBytes == 16 << 20)
            #expect(stats.diskUsedBytes >= 15 << 20)
            // Freeing space makes the sandbox usable again.
            #expect(
                try await stack.sessions.sh(
                    s.id, "rm \(directory)/fill && echo ok > \(directory)/f && cat \(directory)/f"
                ).stdout == "ok\n")
            #expect(try await stack.sessions.get(s.id).state == .running)
        }
    }

    /// With the default limits (memory 1 GiB, disk 1 GiB), filling the disk is ENOSPC and nothing else: the
    /// writable layer is on disk, so its files are reclaimable page cache, not memory the sandbox holds. On a
    /// tmpfs this `dd` was an OOM kill of everything in the sandbox, init included, and the session's files were
    /// gone.
    @Test func fillingTheDefaultDiskIsENOSPCAndTheSessionLivesOn() async throws {
        try await withTestStack("lim-disk-default") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            _ = try await stack.sessions.sh(s.id, "echo precious > /workspace/work.txt")
            let r = try await stack.sessions.sh(
                s.id, "dd if=/dev/zero of=/workspace/fill bs=1M count=1500 2>&1; echo rc=$?")
            #expect(r.stdout.contains("No space left on device"), "\(r.stdout)")
            #expect(!r.stdout.contains("rc=0"))
            #expect(!r.status.outOfMemory && r.status.code == 0, "the shell survived: \(r.status)")
            #expect(try await stack.sessions.get(s.id).state == .running)
            let stats = try await stack.sessions.stats(s.id)
            #expect(stats.diskLimitBytes == 1 << 30)
            #expect(stats.diskUsedBytes > 1000 << 20, "the disk is full: \(stats.diskUsedBytes)")
            #expect(stats.oomEvents == 0, "nothing was killed for memory")
            #expect(try await stack.sessions.sh(s.id, "cat /workspace/work.txt").stdout == "precious\n")
            #expect(
                try await stack.sessions.sh(s.id, "rm /workspace/fill && echo ok > /workspace/f && cat /workspace/f")
                    .stdout == "ok\n")
        }
    }

    /// paddock-init is exempt from the OOM killer; what it starts is not, so a hog is the one that goes.
    @Test func initIsExemptFromTheOOMKillerAndCommandsAreNot() async throws {
        try await withTestStack("lim-oom-adj") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            let r = try await stack.sessions.sh(s.id, "cat /proc/1/oom_score_adj /proc/self/oom_score_adj")
            // -1000 for init where the host may lower it (CAP_SYS_RESOURCE), else 1000 for what init starts.
            #expect(r.stdout == "-1000\n0\n" || r.stdout == "0\n1000\n", "\(r.stdout)\(r.stderr)")
            // Many small hogs at once: whichever the kernel picks, init is never among them.
            var spec = SessionSpec()
            spec.limits.memory = .mebibytes(96)
            let small = try await stack.sessions.create(spec)
            let hogs = try await stack.sessions.sh(
                small.id,
                "for i in 1 2 3 4; do python3 -c 'b = bytearray(60 << 20); import time; time.sleep(5)' & done; wait; "
                    + "echo done")
            #expect(hogs.stdout.contains("done"))
            #expect(try await stack.sessions.stats(small.id).oomEvents > 0)
            #expect(try await stack.sessions.sh(small.id, "echo alive").stdout == "alive\n")
            #expect(try await stack.sessions.get(small.id).state == .running)
        }
    }

    @Test(arguments: providers) func cpuLimitIsApplied(provider: String) async throws {
        guard await Self.available(provider) else { return }
        try await withTestStack("lim-cpu") { stack in
            var spec = SessionSpec(provider: provider)
            spec.limits.cpus = 0.5
            let s = try await stack.sessions.create(spec)
            if provider == "gvisor" {
                // gVisor's own cgroup files do not show the host's quota: the host holds the sentry to it.
                let cgroup = try #require(stack.gvisor).cgroup(of: s.id)
                let file = try #require(cgroup.legacyFile("cpu", "cpu.cfs_quota_us") ?? cgroup.unifiedFile("cpu.max"))
                let quota = Syscalls.readFile(file)?.split(separator: " ").first.map(String.init)
                #expect(quota?.trimmingCharacters(in: .whitespacesAndNewlines) == "50000", "\(quota ?? "none")")
                return
            }
            let r = try await stack.sessions.sh(
                s.id, "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max")
            #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "50000", "\(r.stdout) \(r.stderr)")
        }
    }
}
