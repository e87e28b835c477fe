#if os(Linux)
    import PaddockCore

    /// A cgroup's resource usage. A file that cannot be read (the cgroup is gone, the controller is not mounted)
    /// reads as 0, as the kernel shows an empty cgroup.
    extension Cgroup {
        private func read(_ file: String?) -> String? { file.flatMap { Syscalls.readFile($0)?.trimmed } }
        private func number(_ file: String?) -> UInt64 { UInt64(read(file) ?? "") ?? 0 }

        public var memoryBytes: UInt64 {
            number(mode == .v2 ? unifiedFile("memory.current") : legacyFile("memory", "memory.usage_in_bytes"))
        }

        /// Gives back the page cache still charged to a cgroup with nothing running in it (a gVisor sandbox stopped
        /// to disk leaves its checkpoint's written pages charged there).
        public func reclaimMemory() throws(PaddockError) {
            if mode == .v2 {
                if let file = unifiedFile("memory.reclaim") { try Syscalls.writeExisting(file, "\(memoryBytes)") }
            } else if let file = legacyFile("memory", "memory.force_empty") {
                try Syscalls.writeExisting(file, "0")
            }
        }

        /// The memory limit in bytes; 0 where there is none (`max`).
        public var memoryLimitBytes: UInt64 {
            number(mode == .v2 ? unifiedFile("memory.max") : legacyFile("memory", "memory.limit_in_bytes"))
        }

        public var cpuNanoseconds: UInt64 {
            if mode == .v2 { return (Self.field("usage_usec", in: read(unifiedFile("cpu.stat"))) ?? 0) * 1000 }
            return number(legacyFile("cpuacct", "cpuacct.usage"))
        }

        public var pids: Int {
            Int(read(mode == .v2 ? unifiedFile("pids.current") : legacyFile("pids", "pids.current")) ?? "") ?? 0
        }

        /// How many processes the kernel's OOM killer killed in this cgroup (on v1 kernels that do not count
        /// kills, how many times the limit was hit).
        public var oomKills: UInt64 {
            if mode == .v2 { return Self.field("oom_kill", in: read(unifiedFile("memory.events"))) ?? 0 }
            if let kills = Self.field("oom_kill", in: read(legacyFile("memory", "memory.oom_control"))) { return kills }
            return number(legacyFile("memory", "memory.failcnt"))
        }

        /// How many times a fork failed because the cgroup was at its pid limit.
        public var pidLimitHits: UInt64 {
            Self.field("max", in: read(mode == .v2 ? unifiedFile("pids.events") : legacyFile("pids", "pids.events")))
                ?? 0
        }

        /// The value of `name` in a flat-keyed cgroup file (`key value` per line, as `memory.events`).
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
