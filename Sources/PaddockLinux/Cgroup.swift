#if os(Linux)
    import Glibc
    import PaddockCore
    import PaddockSandbox

    /// One cgroup, by the path the OCI runtime was given (`/paddock-<hash>/<id>` for a sandbox), in every
    /// hierarchy the host has mounted. The one place that knows cgroup file names and where they live: limits,
    /// usage, the freezer, member processes, killing them and removing the directories are all here and in its
    /// `Cgroup+` extensions, for v1, hybrid and v2 hosts alike.
    public struct Cgroup: Sendable, Hashable {
        public let hierarchy: CgroupHierarchy
        /// Relative to each hierarchy's root, starting with `/`.
        public let path: String

        public init(hierarchy: CgroupHierarchy, path: String) {
            self.hierarchy = hierarchy
            self.path = path.hasPrefix("/") ? path : "/" + path
        }

        public var mode: HostCapabilities.CgroupMode { hierarchy.mode }

        /// The cgroup called `name` inside this one (a sandbox's, inside the data directory's parent).
        public func child(_ name: String) -> Cgroup { Cgroup(hierarchy: hierarchy, path: "\(path)/\(name)") }

        /// The v1 file `name` of `controller`, in the hierarchy that controller is bound to (v1 and hybrid hosts,
        /// where runc binds every controller to v1).
        func legacyFile(_ controller: String, _ name: String) -> String? {
            hierarchy.mountPoint(of: controller).map { "\($0)\(path)/\(name)" }
        }

        /// The unified hierarchy's file `name` (v2 hosts; a hybrid host has the hierarchy too, without controllers).
        func unifiedFile(_ name: String) -> String? {
            hierarchy.unified.map { "\($0)\(path)/\(name)" }
        }

        /// Every directory of this cgroup that exists: one per v1 hierarchy (named ones included: runc makes the
        /// cgroup in each it knows) and the unified one. For leak checks and removal.
        public var directories: [String] {
            var candidates = hierarchy.legacy.map { $0.mountPoint + path }
            if let unified = hierarchy.unified { candidates.append(unified + path) }
            return candidates.filter { Syscalls.isDirectory($0) }
        }

        /// The child cgroups' names, once per hierarchy holding them (so a count is of directories).
        public var childNames: [String] {
            directories.flatMap { dir in
                Syscalls.listDirectory(dir).filter { Syscalls.isDirectory("\(dir)/\($0)") }
            }
        }

        /// Removes this cgroup's directories where they are empty of processes and children (the kernel refuses
        /// the rest); returns those that went.
        @discardableResult
        public func remove() -> [String] {
            directories.filter { rmdir($0) == 0 }
        }

        // MARK: Limits

        /// The files and values that set `limits` on this cgroup. The runtime writes the same values at start
        /// (from the spec `ResourceLimits+Cgroups` builds); these change them while the sandbox runs.
        func limitWrites(_ limits: ResourceLimits) -> [(file: String, value: String)] {
            let period = ResourceLimits.cpuPeriod
            let writes: [(String?, String)]
            if mode == .v2 {
                writes = [
                    (unifiedFile("memory.max"), "\(limits.memory.bytes)"), (unifiedFile("pids.max"), "\(limits.pids)"),
                    (unifiedFile("cpu.max"), "\(limits.cpuQuota) \(period)"),
                ]
            } else {
                writes = [
                    (legacyFile("memory", "memory.limit_in_bytes"), "\(limits.memory.bytes)"),
                    (legacyFile("pids", "pids.max"), "\(limits.pids)"),
                    (legacyFile("cpu", "cpu.cfs_period_us"), "\(period)"),
                    (legacyFile("cpu", "cpu.cfs_quota_us"), "\(limits.cpuQuota)"),
                    (legacyFile("cpu", "cpu.shares"), "\(limits.cpuShares)"),
                ]
            }
            return writes.compactMap { file, value in file.map { ($0, value) } }
        }

        /// Sets memory, pid and CPU limits on a running cgroup.
        public func apply(_ limits: ResourceLimits) throws(PaddockError) {
            let writes = limitWrites(limits)
            guard writes.count == (mode == .v2 ? 3 : 5) else {
                let needed = mode == .v2 ? "unified" : "memory, pids and cpu"
                throw .unavailable(
                    "cannot set limits on cgroup \(path): this host has no \(needed) cgroup hierarchy mounted; "
                        + "`paddock doctor` shows what it found")
            }
            for (file, value) in writes { try Syscalls.writeExisting(file, value) }
        }
    }
#endif
