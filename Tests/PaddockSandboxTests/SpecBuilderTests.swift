import Foundation
import PaddockCore
import Testing

@testable import PaddockSandbox

struct SpecBuilderTests {
    static let id = SessionID(rawValue: "abc123")!

    static func spec(userNamespace: Bool = true) -> OCISpec {
        SandboxSpecBuilder(
            id: id, rootfs: "/data/sessions/abc123/rootfs", initBinary: "/data/bin/paddock-init",
            controlDirectory: "/data/sessions/abc123/run", hostIDBase: 2_000_000,
            limits: .init(memory: .mebibytes(512), cpus: 1.5, pids: 256, disk: .gibibytes(1)),
            readOnlyBinds: [.init(source: "/usr", destination: "/usr")], userNamespace: userNamespace
        ).build()
    }

    @Test func everyNamespaceIsNew() {
        let types = Set(Self.spec().linux.namespaces.map(\.type))
        #expect(types == ["pid", "network", "ipc", "uts", "mount", "cgroup", "user"])
        #expect(Self.spec().linux.namespaces.allSatisfy { $0.path == nil })
    }

    /// Only template builds share the host's network (their install steps download packages), with its resolver.
    @Test func templateBuildsShareTheHostNetworkAndNothingElseDoes() {
        var builder = SandboxSpecBuilder(
            id: Self.id, rootfs: "/r", initBinary: "/i", controlDirectory: "/c", hostIDBase: 2_000_000,
            limits: .default, readOnlyBinds: [])
        #expect(!builder.build().mounts.contains { $0.destination == "/etc/resolv.conf" })
        builder.hostNetwork = true
        let spec = builder.build()
        #expect(Set(spec.linux.namespaces.map(\.type)) == ["pid", "ipc", "uts", "mount", "cgroup", "user"])
        let resolver = spec.mounts.first { $0.destination == "/etc/resolv.conf" }
        #expect(resolver?.source == "/etc/resolv.conf" && resolver?.options?.contains("ro") == true)
    }

    @Test func containerRootMapsToAnUnprivilegedRange() throws {
        let map = try #require(Self.spec().linux.uidMappings?.first)
        #expect(map.containerID == 0 && map.hostID == 2_000_000 && map.size == 65536)
        #expect(Self.spec().linux.gidMappings == Self.spec().linux.uidMappings)
    }

    @Test func initGetsOnlyTheCapabilitiesItNeedsAndNoNewPrivileges() throws {
        let p = Self.spec().process
        #expect(p.noNewPrivileges)
        let caps = try #require(p.capabilities)
        #expect(Set(caps.bounding) == Set(SandboxSpecBuilder.initCapabilities))
        #expect(caps.ambient.isEmpty && caps.inheritable.isEmpty)
        for dangerous in [
            "CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_MODULE", "CAP_NET_RAW", "CAP_MKNOD",
        ] {
            #expect(!caps.bounding.contains(dangerous))
        }
        #expect(p.args.first == SandboxLayout.initPath)
    }

    @Test func limitsBecomeCgroupResources() throws {
        let r = try #require(Self.spec().linux.resources)
        #expect(r.memory?.limit == 512 << 20)
        #expect(r.pids?.limit == 256)
        #expect(r.cpu?.quota == 150_000 && r.cpu?.period == 100_000)
        #expect(Self.spec().linux.cgroupsPath == "/paddock/abc123")
    }

    @Test func kernelInterfacesAreMaskedAndHostDirectoriesReadOnly() {
        let s = Self.spec()
        #expect(s.linux.maskedPaths?.contains("/proc/kcore") == true)
        #expect(s.linux.maskedPaths?.contains("/proc/keys") == true)
        #expect(s.linux.readonlyPaths?.contains("/proc/sys") == true)
        let usr = s.mounts.first { $0.destination == "/usr" }
        #expect(usr?.options?.contains("ro") == true)
        let initMount = s.mounts.first { $0.destination == SandboxLayout.initPath }
        #expect(initMount?.options?.contains("ro") == true)
        #expect(s.mounts.first { $0.destination == "/sys" }?.options?.contains("ro") == true)
    }

    @Test func seccompDeniesByDefaultAndBlocksEscapeHatches() throws {
        let seccomp = try #require(Self.spec().linux.seccomp)
        #expect(seccomp.defaultAction == "SCMP_ACT_ERRNO")
        let allowed = Set(seccomp.syscalls.filter { $0.action == "SCMP_ACT_ALLOW" && $0.args == nil }.flatMap(\.names))
        for denied in [
            "mount", "umount2", "unshare", "setns", "pivot_root", "bpf", "perf_event_open", "keyctl", "add_key",
            "init_module", "finit_module", "kexec_load", "open_by_handle_at", "io_uring_setup", "userfaultfd",
            "process_vm_readv", "pidfd_getfd", "fsopen", "move_mount", "reboot", "swapon", "chroot", "clone3",
        ] {
            #expect(!allowed.contains(denied), "\(denied) must not be allowed unconditionally")
        }
        // clone is allowed only without namespace flags.
        let clone = try #require(seccomp.syscalls.first { $0.names == ["clone"] })
        #expect(clone.args?.first?.op == "SCMP_CMP_MASKED_EQ" && clone.args?.first?.valueTwo == 0)
        #expect(seccomp.syscalls.first { $0.names == ["clone3"] }?.errnoRet == 38)
    }

    @Test func gvisorSpecsHaveNoUserNamespace() {
        let s = Self.spec(userNamespace: false)
        #expect(!s.linux.namespaces.contains { $0.type == "user" })
        #expect(s.linux.uidMappings == nil)
    }

    /// gVisor: the session's limits are rlimits its kernel enforces, the host cgroup gets headroom above them,
    /// and /tmp is the writable layer's (not a tmpfs runsc would add, in memory).
    @Test func gvisorLimitsHoldInsideWithTheHostAsOuterBound() throws {
        let limits = ResourceLimits(memory: .mebibytes(512), cpus: 1.5, pids: 256, disk: .gibibytes(1))
        var builder = SandboxSpecBuilder(
            id: Self.id, rootfs: "/data/sessions/abc123/rootfs", initBinary: "/i", controlDirectory: "/c",
            hostIDBase: 0, limits: limits, readOnlyBinds: [], userNamespace: false)
        builder.userSpaceKernel = true
        let spec = builder.build()
        let rlimits = spec.process.rlimits ?? []
        #expect(rlimits.contains(.init(type: "RLIMIT_NPROC", hard: 256, soft: 256)))
        #expect(rlimits.contains(.init(type: "RLIMIT_AS", hard: 512 << 20, soft: 512 << 20)))
        let resources = try #require(spec.linux.resources)
        #expect(resources.pids?.limit ?? 0 > 256 * 2)
        #expect(resources.memory?.limit ?? 0 >= (512 + 128) << 20)
        let tmp = try #require(spec.mounts.first { $0.destination == "/tmp" })
        #expect(tmp.type == "bind" && tmp.source == "/data/sessions/abc123/rootfs/tmp")
        // runc sandboxes keep the plain cgroup limits and no such rlimits.
        #expect(!(Self.spec().process.rlimits ?? []).contains { $0.type == "RLIMIT_NPROC" })
        #expect(Self.spec().linux.resources?.pids?.limit == 256)
    }

    @Test func printingASpecNeverPrintsEnvironmentValues() throws {
        var s = Self.spec()
        s.process.env.append("API_KEY=sk-secret-value-123")
        #expect(!"\(s)".contains("sk-secret-value-123"))
        #expect("\(s)".contains("API_KEY=<redacted>"))
        // The encoded config (what the runtime reads) keeps it, of course.
        #expect(String(decoding: try JSONEncoder().encode(s), as: UTF8.self).contains("sk-secret-value-123"))
    }
}
