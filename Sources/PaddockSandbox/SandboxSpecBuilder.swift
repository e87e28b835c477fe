import PaddockCore

/// Builds the OCI `config.json` for one sandbox. Pure: it only computes a value, so the security-relevant
/// settings (namespaces, capabilities, seccomp, masked paths, limits) are unit-tested without a runtime.
public struct SandboxSpecBuilder: Sendable {
    /// A host directory made visible read-only inside the sandbox.
    public struct ReadOnlyBind: Sendable, Equatable {
        public var source: String
        public var destination: String
        public init(source: String, destination: String) {
            self.source = source
            self.destination = destination
        }
    }

    public var id: SessionID
    /// Host path of the mounted root filesystem.
    public var rootfs: String
    /// Host path of the paddock-init binary.
    public var initBinary: String
    /// Host directory that becomes `SandboxLayout.controlDirectory`.
    public var controlDirectory: String
    /// First host uid/gid of this sandbox's user-namespace range (container 0 maps here).
    public var hostIDBase: UInt32
    public var limits: ResourceLimits
    public var readOnlyBinds: [ReadOnlyBind]
    /// Cgroup parent, e.g. `/paddock`; the sandbox gets `<parent>/<id>`.
    public var cgroupParent: String
    /// Whether to use a user namespace. gVisor runs its own kernel and must not be given one.
    public var userNamespace: Bool
    /// Open-file limit of the sandbox. Must not exceed the host process's hard limit: raising a hard limit
    /// needs a privilege the runtime does not have inside the user namespace.
    public var openFiles: UInt64 = 65536
    /// Share the host's network namespace (and its resolver). Only template builds do: their install steps
    /// download packages. Every session sandbox has a network namespace of its own.
    public var hostNetwork = false
    /// Mounts that enforce the session's file guardrails (read-only binds, hiding tmpfs), added last so they
    /// cover everything under them.
    public var guardMounts: [OCIMount] = []
    /// Set when the session has command guardrails: execs wait for the host's exec guard.
    public var execNotify: SeccompProfile.ExecNotify?
    /// Mounts the host makes under the root after the start reach the sandbox (`rootfsPropagation: rslave`;
    /// the host's root mount must be shared): a fork's children get the sealed layer that way.
    public var receivesHostMounts = false
    /// gVisor: the session's limits are enforced inside by its kernel, and the host cgroup is only the outer
    /// bound (`GVisorLimits`); /tmp is mounted from the writable layer, else runsc puts a memory-backed tmpfs
    /// there and a disk filler on /tmp runs the whole sandbox out of memory.
    public var userSpaceKernel = false

    public init(
        id: SessionID, rootfs: String, initBinary: String, controlDirectory: String, hostIDBase: UInt32,
        limits: ResourceLimits, readOnlyBinds: [ReadOnlyBind], cgroupParent: String = "/paddock",
        userNamespace: Bool = true, openFiles: UInt64 = 65536
    ) {
        self.openFiles = openFiles
        self.id = id
        self.rootfs = rootfs
        self.initBinary = initBinary
        self.controlDirectory = controlDirectory
        self.hostIDBase = hostIDBase
        self.limits = limits
        self.readOnlyBinds = readOnlyBinds
        self.cgroupParent = cgroupParent
        self.userNamespace = userNamespace
    }

    /// Capabilities of paddock-init only (container root, inside the user namespace). Commands it starts
    /// switch to uid 1000, which clears them, and it drops the bounding set before that, so commands hold
    /// none at all.
    public static let initCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
    ]

    /// Docker's default masked and read-only /proc and /sys paths: kernel memory, keys, timers and
    /// firmware stay out of reach.
    public static let maskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]
    public static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    public func build() -> OCISpec {
        let process = OCIProcess(
            user: .init(uid: 0, gid: 0),
            args: [
                SandboxLayout.initPath, "--socket", SandboxLayout.controlSocket, "--egress-port",
                String(SandboxLayout.egressProxyPort), "--egress-socket", SandboxLayout.egressSocket,
            ],
            env: ["PATH=\(SandboxLayout.defaultPath)", "HOME=/root"],
            cwd: "/",
            capabilities: .init(Self.initCapabilities),
            rlimits: [.init(type: "RLIMIT_NOFILE", hard: openFiles, soft: openFiles)]
                + (userSpaceKernel ? GVisorLimits.rlimits(limits) : []),
            // Not -1000 here: runc writes it from inside the user namespace, where lowering it is not allowed.
            // The provider exempts init from the host once it runs (`LocalProvider.exemptInitFromOOMKiller`).
            oomScoreAdj: nil)

        var mounts: [OCIMount] = [
            .init(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
            .init(
                destination: "/dev", type: "tmpfs", source: "tmpfs",
                options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            .init(
                destination: "/dev/pts", type: "devpts", source: "devpts",
                options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            .init(
                destination: "/dev/shm", type: "tmpfs", source: "shm",
                options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            .init(
                destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
        ]
        // sysfs can only be mounted by the owner of the network namespace, which a template build (sharing the
        // host's) is not; builds go without /sys, which package installs do not need.
        if !hostNetwork {
            mounts += [
                .init(
                    destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
                // The sandbox's own cgroups (a cgroup namespace hides the host's), read-only: runtimes such as the
                // JVM and Go size their heaps and thread pools from these limits.
                .init(
                    destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
                    options: ["nosuid", "noexec", "nodev", "relatime", "ro"]),
            ]
        }
        for bind in readOnlyBinds {
            mounts.append(
                .init(
                    destination: bind.destination, type: "bind", source: bind.source,
                    options: ["rbind", "ro", "nosuid", "nodev"]))
        }
        mounts.append(
            .init(
                destination: SandboxLayout.initPath, type: "bind", source: initBinary,
                options: ["bind", "ro", "nosuid", "nodev"]))
        mounts.append(
            .init(
                destination: SandboxLayout.controlDirectory, type: "bind", source: controlDirectory,
                options: ["bind", "rw", "nosuid", "nodev", "noexec"]))
        if userSpaceKernel {
            mounts.append(
                .init(
                    destination: "/tmp", type: "bind", source: rootfs + "/tmp",
                    options: ["rbind", "rw", "nosuid", "nodev"]))
        }
        mounts += guardMounts

        var namespaces: [OCILinux.Namespace] = ["pid", "ipc", "uts", "mount", "cgroup"].map { .init(type: $0) }
        if hostNetwork {
            mounts.append(
                .init(
                    destination: "/etc/resolv.conf", type: "bind", source: "/etc/resolv.conf",
                    options: ["bind", "ro", "nosuid", "nodev", "noexec"]))
        } else {
            namespaces.insert(.init(type: "network"), at: 1)
        }
        var uidMappings: [OCILinux.IDMapping]?
        if userNamespace {
            namespaces.append(.init(type: "user"))
            uidMappings = [.init(containerID: 0, hostID: hostIDBase, size: SandboxLayout.idRangeSize)]
        }

        let host = userSpaceKernel ? GVisorLimits.hostCeiling(limits) : limits
        let resources = OCILinux.Resources(
            memory: .init(limit: Int64(clamping: host.memory.bytes)),
            cpu: .init(shares: host.cpuShares, quota: host.cpuQuota, period: ResourceLimits.cpuPeriod),
            pids: .init(limit: Int64(host.pids)))

        var linux = OCILinux(
            uidMappings: uidMappings, gidMappings: uidMappings, namespaces: namespaces, resources: resources,
            cgroupsPath: "\(cgroupParent)/\(id.rawValue)", seccomp: SeccompProfile.oci(execNotify: execNotify),
            maskedPaths: Self.maskedPaths, readonlyPaths: Self.readonlyPaths)
        if receivesHostMounts { linux.rootfsPropagation = "rslave" }

        return OCISpec(
            process: process, root: .init(path: rootfs, readonly: false), hostname: SandboxLayout.hostname,
            mounts: mounts, linux: linux)
    }
}
