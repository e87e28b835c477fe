#if os(Linux)
    import PaddockCore

    /// Reads a sandbox's resource usage from its cgroups, on v1, hybrid and v2 hosts alike.
    struct CgroupStats {
        let mode: HostCapabilities.CgroupMode
        /// The cgroup path the runtime was given, e.g. `/paddock/<id>`.
        let path: String

        private func v1(_ controller: String, _ file: String) -> String? {
            Syscalls.readFile("/sys/fs/cgroup/\(controller)\(path)/\(file)")?.trimmed
        }
        private func v2(_ file: String) -> String? {
            let base = mode == .hybrid ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup"
            return Syscalls.readFile("\(base)\(path)/\(file)")?.trimmed
        }

        var memoryBytes: UInt64 {
            mode == .v2
                ? UInt64(v2("memory.current") ?? "") ?? 0 : UInt64(v1("memory", "memory.usage_in_bytes") ?? "") ?? 0
        }

        var memoryLimitBytes: UInt64 {
            UInt64((mode == .v2 ? v2("memory.max") : v1("memory", "memory.limit_in_bytes")) ?? "") ?? 0
        }

        var cpuNanoseconds: UInt64 {
            if mode == .v2 {
                let usec = Self.field("usage_usec", in: v2("cpu.stat")) ?? 0
                return usec * 1000
            }
            return UInt64(v1("cpuacct", "cpuacct.usage") ?? "") ?? 0
        }

        var pids: Int { Int(mode == .v2 ? v2("pids.current") ?? "" : v1("pids", "pids.current") ?? "") ?? 0 }

        /// How many processes the kernel's OOM killer killed in this cgroup (falls back to limit hits).
        var oomKills: UInt64 {
            if mode == .v2 { return Self.field("oom_kill", in: v2("memory.events")) ?? 0 }
            if let n = Self.field("oom_kill", in: v1("memory", "memory.oom_control")) { return n }
            return UInt64(v1("memory", "memory.failcnt") ?? "") ?? 0
        }

        /// The processes in the cgroup: the unified hierarchy's list on v2; on v1 the freezer's (the hierarchy
        /// `CgroupReaper` freezes), else any controller's, since each lists the same processes.
        var processes: [Int32] {
            let file: String?
            switch mode {
            case .v2: file = "/sys/fs/cgroup\(path)/cgroup.procs"
            case .v1, .hybrid:
                file = ["freezer", "pids", "memory", "cpu"].lazy.map { "/sys/fs/cgroup/\($0)\(self.path)/cgroup.procs" }
                    .first { Syscalls.exists($0) }
            case .none: file = nil
            }
            guard let file, let text = Syscalls.readFile(file) else { return [] }
            return text.split(separator: "\n").compactMap { Int32($0) }
        }

        /// How many times a fork failed because the sandbox was at its pid limit.
        var pidLimitHits: UInt64 {
            Self.field("max", in: mode == .v2 ? v2("pids.events") : v1("pids", "pids.events")) ?? 0
        }

        /// Every directory the runtime may have created for this cgroup, for leak checks and cleanup.
        static func directories(path: String, mode: HostCapabilities.CgroupMode) -> [String] {
            switch mode {
            case .v2: return ["/sys/fs/cgroup\(path)"]
            case .v1, .hybrid:
                let controllers = Syscalls.listDirectory("/sys/fs/cgroup").filter { $0 != "unified" }
                var dirs = controllers.map { "/sys/fs/cgroup/\($0)\(path)" }
                if mode == .hybrid { dirs.append("/sys/fs/cgroup/unified\(path)") }
                return dirs.filter { Syscalls.isDirectory($0) }
            case .none: return []
            }
        }

        static func field(_ name: String, in text: String?) -> UInt64? {
            guard let text else { return nil }
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2, parts[0] == name { return UInt64(parts[1]) }
            }
            return nil
        }
    }
#endif
