import Foundation
import Logging
import PaddockCore
import Testing

@testable import PaddockLinux

/// Cgroup mode and paths come from the mount table, for v1, hybrid and v2 hosts alike. Each host is faked by a
/// mountinfo text whose mount points are in a scratch directory, so no root and no real cgroup is needed.
struct CgroupTests {
    /// A host's cgroup mounts under `root`, as /proc/self/mountinfo lists them.
    static func mountInfo(_ kind: HostCapabilities.CgroupMode, root: String = "/sys/fs/cgroup") -> String {
        let tmpfs = "31 23 0:28 / \(root) rw,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=755"
        let v1 = [
            "32 31 0:29 / \(root)/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
            "34 31 0:31 / \(root)/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children",
            "35 31 0:32 / \(root)/memory rw,relatime - cgroup cgroup rw,memory",
            "37 31 0:34 / \(root)/freezer rw,relatime - cgroup cgroup rw,freezer",
            "39 31 0:36 / \(root)/pids rw,relatime - cgroup cgroup rw,pids",
            "40 31 0:37 / \(root)/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd",
        ]
        let unrelated = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw"
        switch kind {
        case .v1: return ([unrelated, tmpfs] + v1).joined(separator: "\n") + "\n"
        case .hybrid:
            return ([unrelated, tmpfs] + v1 + ["41 31 0:38 / \(root)/unified rw,relatime - cgroup2 cgroup2 rw"])
                .joined(separator: "\n") + "\n"
        case .v2:
            return [unrelated, "31 23 0:28 / \(root) rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate"]
                .joined(separator: "\n") + "\n"
        case .none: return unrelated + "\n"
        }
    }

    @Test(arguments: [HostCapabilities.CgroupMode.v1, .hybrid, .v2, .none])
    func theModeComesFromTheMountedFilesystems(mode: HostCapabilities.CgroupMode) {
        #expect(CgroupHierarchy.parse(mountInfo: Self.mountInfo(mode)).mode == mode)
    }

    @Test func controllersAreFoundWhereverTheyAreMounted() {
        let hierarchy = CgroupHierarchy.parse(mountInfo: Self.mountInfo(.hybrid, root: "/elsewhere"))
        #expect(hierarchy.mountPoint(of: "cpu") == "/elsewhere/cpu,cpuacct", "co-mounted controllers share one")
        #expect(hierarchy.mountPoint(of: "cpuacct") == "/elsewhere/cpu,cpuacct")
        #expect(hierarchy.mountPoint(of: "cpuset") == "/elsewhere/cpuset", "flags are not controllers")
        #expect(hierarchy.mountPoint(of: "clone_children") == nil)
        #expect(hierarchy.mountPoint(of: "blkio") == nil)
        #expect(hierarchy.unified == "/elsewhere/unified")
        #expect(hierarchy.legacy.first { $0.mountPoint.hasSuffix("systemd") }?.controllers == [], "named, no limits")
    }

    @Test func aNamedV1HierarchyBesideTheUnifiedOneIsStillAV2Host() {
        let text =
            Self.mountInfo(.v2) + "50 31 0:40 / /run/systemd-legacy rw - cgroup cgroup rw,xattr,name=systemd\n"
        #expect(CgroupHierarchy.parse(mountInfo: text).mode == .v2)
    }

    @Test func aHierarchyBoundAgainElsewhereIsTakenWhereItWasFirstMounted() {
        let text =
            Self.mountInfo(.v1)
            + "60 22 0:32 / /var/lib/container/rootfs/sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
            + "61 22 0:45 / /mnt/with\\040space rw - cgroup cgroup rw,blkio\n"
        let hierarchy = CgroupHierarchy.parse(mountInfo: text)
        #expect(hierarchy.mountPoint(of: "memory") == "/sys/fs/cgroup/memory")
        #expect(hierarchy.mountPoint(of: "blkio") == "/mnt/with space", "mountinfo's octal escapes are decoded")
    }

    @Test func thisHostsModeAgreesWithWhatIsMountedAtTheUsualPlace() {
        let detected = CgroupHierarchy.detect().mode
        let expected: HostCapabilities.CgroupMode =
            switch MountTable.filesystemType(at: "/sys/fs/cgroup") {
            case "cgroup2": .v2
            case "tmpfs": MountTable.filesystemType(at: "/sys/fs/cgroup/unified") == "cgroup2" ? .hybrid : .v1
            default: .none
            }
        #expect(detected == expected)
    }

    // MARK: A fake host in a scratch directory

    /// A scratch directory holding `mode`'s hierarchies, with the cgroup `/parent/sbx` made in each, and `files`
    /// in it: `controller/name` → content (the controller picks the v1 hierarchy; v2 has just the one).
    struct FakeHost {
        let root: String
        let cgroup: Cgroup

        init(_ mode: HostCapabilities.CgroupMode, files: [String: String] = [:]) throws {
            root = NSTemporaryDirectory() + "paddock-cgroup-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let hierarchy = CgroupHierarchy.parse(mountInfo: CgroupTests.mountInfo(mode, root: root))
            cgroup = Cgroup(hierarchy: hierarchy, path: "/parent").child("sbx")
            let fm = FileManager.default
            let points = hierarchy.legacy.map(\.mountPoint) + [hierarchy.unified].compactMap { $0 }
            for point in points {
                try fm.createDirectory(atPath: point + cgroup.path, withIntermediateDirectories: true)
            }
            for (key, content) in files {
                let (controller, name) = (String(key.prefix { $0 != "/" }), String(key.drop { $0 != "/" }.dropFirst()))
                let point = mode == .v2 ? hierarchy.unified : hierarchy.mountPoint(of: controller)
                #expect(fm.createFile(atPath: "\(point ?? "")\(cgroup.path)/\(name)", contents: Data(content.utf8)))
            }
        }

        func read(_ file: String) -> String? { try? String(contentsOfFile: root + file, encoding: .utf8) }
        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    static let limits = ResourceLimits(memory: .mebibytes(256), cpus: 1.5, pids: 99, disk: .gibibytes(1))

    @Test func limitsGoToTheV1ControllersFiles() throws {
        let files = [
            "memory/memory.limit_in_bytes", "pids/pids.max", "cpu/cpu.cfs_period_us", "cpu/cpu.cfs_quota_us",
            "cpu/cpu.shares",
        ]
        let host = try FakeHost(.hybrid, files: Dictionary(uniqueKeysWithValues: files.map { ($0, "") }))
        defer { host.remove() }
        try host.cgroup.apply(Self.limits)
        #expect(host.read("/memory/parent/sbx/memory.limit_in_bytes") == "\(256 << 20)")
        #expect(host.read("/pids/parent/sbx/pids.max") == "99")
        #expect(host.read("/cpu,cpuacct/parent/sbx/cpu.cfs_period_us") == "100000")
        #expect(host.read("/cpu,cpuacct/parent/sbx/cpu.cfs_quota_us") == "150000")
        #expect(host.read("/cpu,cpuacct/parent/sbx/cpu.shares") == "1536")
    }

    @Test func limitsGoToTheUnifiedFilesOnV2() throws {
        let host = try FakeHost(.v2, files: ["memory/memory.max": "", "pids/pids.max": "", "cpu/cpu.max": ""])
        defer { host.remove() }
        try host.cgroup.apply(Self.limits)
        #expect(host.read("/parent/sbx/memory.max") == "\(256 << 20)")
        #expect(host.read("/parent/sbx/pids.max") == "99")
        #expect(host.read("/parent/sbx/cpu.max") == "150000 100000")
    }

    @Test func limitsOnAHostWithoutCgroupsSayWhatToCheck() {
        let cgroup = Cgroup(hierarchy: CgroupHierarchy.parse(mountInfo: Self.mountInfo(.none)), path: "/p/sbx")
        #expect(cgroup.limitWrites(Self.limits).isEmpty)
        #expect {
            try cgroup.apply(Self.limits)
        } throws: { error in
            (error as? PaddockError)?.message.contains("paddock doctor") == true
        }
    }

    @Test func usageIsReadFromV1Files() throws {
        let host = try FakeHost(
            .v1,
            files: [
                "memory/memory.usage_in_bytes": "4096\n", "memory/memory.limit_in_bytes": "8192\n",
                "memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
                "cpuacct/cpuacct.usage": "123456789\n", "pids/pids.current": "7\n", "pids/pids.events": "max 12\n",
            ])
        defer { host.remove() }
        let cgroup = host.cgroup
        #expect(cgroup.memoryBytes == 4096)
        #expect(cgroup.memoryLimitBytes == 8192)
        #expect(cgroup.oomKills == 3)
        #expect(cgroup.cpuNanoseconds == 123_456_789)
        #expect(cgroup.pids == 7)
        #expect(cgroup.pidLimitHits == 12)
    }

    @Test func usageIsReadFromUnifiedFilesOnV2() throws {
        let host = try FakeHost(
            .v2,
            files: [
                "memory/memory.current": "4096\n", "memory/memory.max": "max\n",
                "memory/memory.events": "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n",
                "cpu/cpu.stat": "usage_usec 2500\nuser_usec 2000\n", "pids/pids.current": "3\n",
                "pids/pids.events": "max 4\n",
            ])
        defer { host.remove() }
        let cgroup = host.cgroup
        #expect(cgroup.memoryBytes == 4096)
        #expect(cgroup.memoryLimitBytes == 0, "no limit reads as 0")
        #expect(cgroup.oomKills == 1)
        #expect(cgroup.cpuNanoseconds == 2_500_000)
        #expect(cgroup.pids == 3)
        #expect(cgroup.pidLimitHits == 4)
    }

    @Test func aMissingCgroupReadsAsEmpty() {
        let cgroup = Cgroup(
            hierarchy: CgroupHierarchy.parse(mountInfo: Self.mountInfo(.v1, root: "/nonexistent")), path: "/x")
        #expect(cgroup.memoryBytes == 0 && cgroup.pids == 0 && cgroup.oomKills == 0)
        #expect(cgroup.processes == [])
        #expect(cgroup.isFrozen == nil)
        #expect(cgroup.directories == [])
    }

    @Test func membersAreListedFromTheFreezerOnV1AndTheUnifiedHierarchyOnV2() throws {
        let v1 = try FakeHost(.hybrid, files: ["memory/cgroup.procs": "1\n2\n"])
        defer { v1.remove() }
        #expect(v1.cgroup.processes == [1, 2], "any controller's list when the freezer has none")
        let file = v1.root + "/freezer/parent/sbx/cgroup.procs"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("10\n11\n12\n".utf8)))
        #expect(v1.cgroup.processes == [10, 11, 12])

        let v2 = try FakeHost(.v2, files: ["pids/cgroup.procs": "5\n"])
        defer { v2.remove() }
        #expect(v2.cgroup.processes == [5])
    }

    @Test func nothingToKillIsNoSignal() async throws {
        let host = try FakeHost(.hybrid, files: ["freezer/cgroup.procs": ""])
        defer { host.remove() }
        let result = await host.cgroup.killAll(logger: Logger(label: "test"))
        #expect(result.found == 0 && result.outcome == .alreadyGone)
    }

    @Test func theV1FreezerIsWrittenAndRead() async throws {
        let host = try FakeHost(.hybrid, files: ["freezer/freezer.state": "THAWED\n"])
        defer { host.remove() }
        #expect(host.cgroup.isFrozen == false)
        // The fake kernel shows FROZEN as soon as it is written.
        try await host.cgroup.freeze()
        #expect(host.read("/freezer/parent/sbx/freezer.state") == "FROZEN")
        #expect(host.cgroup.isFrozen == true)
        try host.cgroup.thaw()
        #expect(host.read("/freezer/parent/sbx/freezer.state") == "THAWED")
    }

    @Test func theV2FreezerIsTheCgroupsOwnFile() async throws {
        let host = try FakeHost(
            .v2, files: ["freezer/cgroup.freeze": "0\n", "freezer/cgroup.events": "populated 1\nfrozen 1\n"])
        defer { host.remove() }
        try await host.cgroup.freeze()
        #expect(host.read("/parent/sbx/cgroup.freeze") == "1")
        #expect(host.cgroup.isFrozen == true)
        try host.cgroup.thaw()
        #expect(host.read("/parent/sbx/cgroup.freeze") == "0")
    }

    @Test func aFreezeThatNeverCompletesThawsAgainAndSaysSo() async throws {
        let host = try FakeHost(
            .v2, files: ["freezer/cgroup.freeze": "0\n", "freezer/cgroup.events": "populated 1\nfrozen 0\n"])
        defer { host.remove() }
        await #expect(throws: PaddockError.self) { try await host.cgroup.freeze(timeout: .milliseconds(50)) }
        #expect(host.read("/parent/sbx/cgroup.freeze") == "0", "thawed again")
    }

    @Test func directoriesAreEveryHierarchysAndChildrenAreCountedPerHierarchy() throws {
        let host = try FakeHost(.hybrid)
        defer { host.remove() }
        let parent = Cgroup(hierarchy: host.cgroup.hierarchy, path: "/parent")
        // cpu,cpuacct cpuset memory freezer pids systemd, and unified.
        #expect(host.cgroup.directories.count == 7)
        #expect(host.cgroup.directories.contains(host.root + "/unified/parent/sbx"))
        #expect(parent.childNames == Array(repeating: "sbx", count: 7))
        #expect(host.cgroup.remove().count == 7)
        #expect(host.cgroup.directories == [])
        #expect(parent.childNames == [])
    }

    @Test func pathsAreAbsoluteInsideEachHierarchy() {
        let hierarchy = CgroupHierarchy.parse(mountInfo: Self.mountInfo(.v2, root: "/cg"))
        #expect(Cgroup(hierarchy: hierarchy, path: "paddock-1/abc").path == "/paddock-1/abc")
        #expect(
            Cgroup(hierarchy: hierarchy, path: "/paddock-1").child("abc").unifiedFile("cgroup.kill")
                == "/cg/paddock-1/abc/cgroup.kill")
    }
}
