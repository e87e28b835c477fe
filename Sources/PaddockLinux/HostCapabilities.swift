#if os(Linux)
    import Glibc
    import PaddockCore

    /// What this host supports, detected at runtime (never assumed from a distribution or kernel version),
    /// and what that means for Paddock. `paddock doctor` prints it; the provider picks its runtime from it.
    public struct HostCapabilities: Codable, Sendable {
        public enum CgroupMode: String, Codable, Sendable { case v1, hybrid, v2, none }

        public struct Runtime: Codable, Sendable {
            public var name: String
            public var path: String?
            public var version: String?
            public var usable: Bool
            public var note: String
        }

        public var kernel: String
        public var isRoot: Bool
        public var userNamespaces: Bool
        public var cgroupMode: CgroupMode
        public var overlayfs: Bool
        public var seccomp: Bool
        public var kvm: Bool
        public var runtimes: [Runtime]
        /// The runtime the local provider uses, if any.
        public var defaultRuntime: String?
        /// Whether this host can run real sandboxes at all (root, user namespaces, overlayfs, a runtime).
        public var canRunSandboxes: Bool
        /// What pause, snapshots and forks keep of a session: processes, or files only.
        public var checkpoint: String
        public var notes: [String]
        /// Whether command guardrails can be enforced on execs (seccomp user notification through the runtime).
        public var execGuardSupported = false
        /// What holds for command guardrails on this host, per provider.
        public var execGuard = ""
        /// Whether sandboxes' writable layers are on disk (a per-sandbox ext4 image) or fall back to tmpfs.
        public var sandboxDiskOnDisk = false
        /// Where sandboxes' writable layers live and how their size is enforced, in words.
        public var sandboxDisk = ""

        /// Whether the runsc found contains limits like runc (a fork bomb gets EAGAIN, a hog ENOMEM, and the
        /// sandbox lives on); an older one lets them kill the whole sandbox.
        public var gvisorContainsLimits = false
        /// Whether gVisor sessions can stop to disk here (checkpoint and restore); probed by `paddock doctor` only.
        public var gvisorToDisk: GVisorCheckpointProbe.Outcome?

        /// `runsc` is the one at `runsc` when given (the server's `--runsc`), else `GVisorRuntime.locate`'s.
        public static func probe(runsc explicitRunsc: String? = nil) async -> HostCapabilities {
            var uts = utsname()
            uname(&uts)
            let release = withUnsafeBytes(of: uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let root = geteuid() == 0
            let userns = (Int(Syscalls.readFile("/proc/sys/user/max_user_namespaces")?.trimmed ?? "0") ?? 0) > 0
            let mode = detectCgroupMode()
            let overlay = Syscalls.readFile("/proc/filesystems")?.contains("\toverlay\n") ?? false
            let seccomp = Syscalls.readFile("/proc/self/status")?.contains("Seccomp:") ?? false
            let kvm = access("/dev/kvm", R_OK | W_OK) == 0
            var notes: [String] = []

            var runtimes: [Runtime] = []
            var gvisorContainsLimits = false
            for name in ["runc", "crun", "runsc"] {
                let found = name == "runsc" ? GVisorRuntime.locate(explicit: explicitRunsc) : HostCommand.find(name)
                guard let path = found else {
                    let note =
                        name != "runsc"
                        ? "not installed (apt-get install \(name))"
                        : explicitRunsc.map { "--runsc \($0) is not an executable file" }
                            ?? "not installed; \(GVisorRuntime.installHint)"
                    runtimes.append(Runtime(name: name, path: nil, version: nil, usable: false, note: note))
                    continue
                }
                let version = (try? await HostCommand.run(path, ["--version"]))?.stdout.split(separator: "\n").first
                    .map(String.init)
                var usable = true
                var note = "ok"
                switch name {
                case "crun" where mode != .v2:
                    usable = false
                    note = "refuses to run on cgroup \(mode.rawValue) hosts; used only where the host is pure cgroup v2"
                case "runsc":
                    let platform = GVisorRuntime.platform(version: version)
                    gvisorContainsLimits = GVisorRuntime.containsLimits(version: version)
                    note =
                        gvisorContainsLimits
                        ? "gVisor, platform \(platform); contains memory, pids and disk limits like runc"
                        : "gVisor, platform \(platform); WARNING: this release cannot contain a fork bomb or a memory "
                            + "hog (the whole sandbox dies); \(GVisorRuntime.installHint)"
                default: break
                }
                runtimes.append(Runtime(name: name, path: path, version: version, usable: usable, note: note))
            }
            let preferred = mode == .v2 ? ["crun", "runc"] : ["runc"]
            let defaultRuntime = preferred.first { n in runtimes.contains { $0.name == n && $0.usable } }

            if !root { notes.append("not running as root: sandboxes need root (rootless mode is not supported yet)") }
            if !userns { notes.append("user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)") }
            if !overlay { notes.append("overlayfs is not available: modprobe overlay") }
            if mode == .hybrid || mode == .v1 {
                notes.append("cgroup \(mode.rawValue): runc is used; crun needs a pure cgroup v2 host")
            }
            if defaultRuntime == nil { notes.append("no usable OCI runtime: apt-get install runc") }
            // Pause freezes processes in place (they keep their memory); snapshots and forks copy files only.
            // A memory checkpoint would let a snapshot keep processes too: CRIU where its own check passes.
            let criu: String
            if let path = HostCommand.find("criu") {
                let check = try? await HostCommand.run(path, ["check"])
                criu =
                    check?.succeeded == true ? "CRIU passes its check but is not used yet" : "CRIU fails on this kernel"
            } else {
                criu = "CRIU not installed"
            }
            let checkpoint =
                "pause keeps processes (cgroup freezer); snapshots and forks keep files, and their sessions start "
                + "fresh processes (\(criu)); gVisor sessions can also stop to disk (`session stop --to-disk`)"

            var capabilities = HostCapabilities(
                kernel: release, isRoot: root, userNamespaces: userns, cgroupMode: mode, overlayfs: overlay,
                seccomp: seccomp, kvm: kvm, runtimes: runtimes, defaultRuntime: defaultRuntime,
                canRunSandboxes: root && userns && overlay && defaultRuntime != nil && mode != .none,
                checkpoint: checkpoint, notes: notes)
            capabilities.gvisorContainsLimits = gvisorContainsLimits
            await capabilities.probeExecGuard()
            await capabilities.probeSandboxDisk()
            return capabilities
        }

        /// Tries a sandbox disk in a throwaway directory, as a provider does in its state directory at start.
        mutating func probeSandboxDisk() async {
            var template = Array("/tmp/paddock-doctor-XXXXXX".utf8CString)
            let made = template.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
            }
            guard let directory = made else {
                sandboxDisk = "could not be checked (no temporary directory)"
                return
            }
            defer { Syscalls.removeTree(directory) }
            let disk = await ScratchDisk.detect(cacheDirectory: "\(directory)/disks")
            sandboxDiskOnDisk = disk.backing == .loopExt4
            sandboxDisk = disk.summary
        }

        /// Decided from the cgroup filesystems in the mount table (see `CgroupHierarchy`).
        static func detectCgroupMode() -> CgroupMode { CgroupHierarchy.detect().mode }
    }
#endif
