#if os(Linux)
    import Glibc
    import PaddockCore

    /// Where the provider keeps what a sandbox's own (unprivileged, mapped) root must be able to reach: bundles,
    /// root filesystems, control sockets, paddock-init, layers and runtime state.
    ///
    /// The store, tokens and keys may live anywhere (a clone under `/root`, mode 0700, included); the runtime opens
    /// a sandbox's root filesystem as the sandbox's mapped root, which needs every ancestor directory to be
    /// traversable by others. So when the data directory is not reachable that way, the state goes to a directory
    /// Paddock makes with the right modes, `/var/lib/paddock/<hash of the data directory>`, unless `--state-dir`
    /// names one. The choice is written to `<data-dir>/state-dir` and kept, so a later change of modes never
    /// separates a server from its running sandboxes.
    public enum StateDirectory {
        public static let systemRoot = "/var/lib/paddock"
        static let recordName = "state-dir"

        /// The state directory for `dataDirectory` (absolute): `explicit` when given, else the recorded one, else
        /// the data directory itself when sandboxes can reach it, else one under `systemRoot`.
        public static func resolve(dataDirectory: String, explicit: String?) throws(PaddockError) -> String {
            let record = "\(dataDirectory)/\(recordName)"
            let recorded = Syscalls.readFile(record)?.trimmed
            let chosen: String
            if let explicit {
                guard explicit.hasPrefix("/") else {
                    throw .invalidArgument("--state-dir must be an absolute path, not \(explicit)")
                }
                chosen = explicit
            } else if let recorded, !recorded.isEmpty {
                chosen = recorded
            } else if untraversableAncestor(of: dataDirectory) == nil {
                return dataDirectory
            } else {
                try Syscalls.makeDirectory(systemRoot, mode: 0o711)
                chosen = "\(systemRoot)/\(hash(dataDirectory))"
            }
            if chosen != recorded {
                try AtomicFile.write(Array((chosen + "\n").utf8), to: record, mode: 0o600)
            }
            return chosen
        }

        /// The first ancestor of `path` that other users cannot traverse (no o+x), if any.
        static func untraversableAncestor(of path: String) -> (path: String, mode: mode_t)? {
            var dir = path
            while let slash = dir.lastIndex(of: "/"), slash != dir.startIndex {
                dir = String(dir[..<slash])
                var st = stat()
                if fstatat(AT_FDCWD, dir, &st, 0) == 0, st.st_mode & 0o001 == 0 { return (dir, st.st_mode & 0o777) }
            }
            return nil
        }

        /// FNV-1a, 64 bits: stable across runs and builds, unlike Swift's seeded `hashValue`.
        static func hash(_ text: String) -> String {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            return String(h, radix: 16)
        }
    }
#endif
