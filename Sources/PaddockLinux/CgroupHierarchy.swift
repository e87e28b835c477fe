#if os(Linux)
    import PaddockCore

    /// The cgroup hierarchies this host has mounted, and where: found at run time in the mount table, by
    /// filesystem type (`cgroup` for v1, `cgroup2` for the unified hierarchy), never assumed from a distribution,
    /// a kernel version or the usual `/sys/fs/cgroup`.
    public struct CgroupHierarchy: Sendable, Hashable {
        /// One v1 hierarchy: where it is mounted and the controllers bound to it (none for a named one, such as
        /// systemd's `name=systemd`). Co-mounted controllers (`cpu,cpuacct`) share one.
        public struct Legacy: Sendable, Hashable {
            public var mountPoint: String
            public var controllers: [String]
        }

        /// v1 hierarchies in mount order.
        public var legacy: [Legacy]
        /// The unified (v2) hierarchy's mount point: the whole tree on a v2 host, the controller-less `unified`
        /// mount on a hybrid one.
        public var unified: String?

        public init(legacy: [Legacy], unified: String?) {
            self.legacy = legacy
            self.unified = unified
        }

        /// v1 where controllers live in v1 hierarchies (hybrid when a unified one is mounted beside them, as
        /// systemd does); v2 where only the unified hierarchy is; none without any. A named v1 hierarchy alone
        /// does not make a host v1: it holds no limits.
        public var mode: HostCapabilities.CgroupMode {
            if legacy.contains(where: { !$0.controllers.isEmpty }) { return unified == nil ? .v1 : .hybrid }
            return unified == nil ? .none : .v2
        }

        /// Where the v1 `controller` is mounted (the hierarchy it is bound to), if any.
        public func mountPoint(of controller: String) -> String? {
            legacy.first { $0.controllers.contains(controller) }?.mountPoint
        }

        /// This process's view, from /proc/self/mountinfo.
        public static func detect() -> CgroupHierarchy {
            parse(mountInfo: Syscalls.readFile("/proc/self/mountinfo", limit: 16 << 20) ?? "")
        }

        /// Reads the cgroup mounts out of a mountinfo text. A hierarchy mounted twice (bound elsewhere, seen by
        /// its device number) is taken where it was mounted first, which is the host's own mount.
        public static func parse(mountInfo: String) -> CgroupHierarchy {
            var legacy: [Legacy] = []
            var unified: String?
            var seen: Set<Substring> = []
            for line in mountInfo.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: false)
                // Optional fields end at "-"; then the filesystem type, the source and the superblock options.
                guard fields.count > 4, let dash = fields.firstIndex(of: "-"), dash + 3 < fields.count,
                    ["cgroup", "cgroup2"].contains(fields[dash + 1]), seen.insert(fields[2]).inserted
                else { continue }
                let point = MountTable.unescape(String(fields[4]))
                if fields[dash + 1] == "cgroup2" {
                    if unified == nil { unified = point }
                    continue
                }
                // A v1 superblock's options name its controllers, beside flags and `name=` for a named one.
                let controllers = fields[dash + 3].split(separator: ",").map(String.init).filter {
                    !Self.superblockFlags.contains($0) && !$0.contains("=")
                }
                legacy.append(Legacy(mountPoint: point, controllers: controllers))
            }
            return CgroupHierarchy(legacy: legacy, unified: unified)
        }

        /// Options a v1 cgroup superblock shows that are not controllers.
        static let superblockFlags: Set<String> = [
            "rw", "ro", "none", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "favordynmods",
        ]
    }
#endif
