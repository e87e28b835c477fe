#if os(Linux)
    import Glibc
    import PaddockCore
    import PaddockSandbox

    extension LocalProvider {
        /// The mounts that enforce a session's file guardrails. Built before the sandbox first runs, when its
        /// root holds only the template and the directories Paddock created, so no path here can be a symlink a
        /// sandbox planted.
        ///
        /// - read-only: the path bound read-only over itself (created as an empty directory owned by the sandbox
        ///   user when missing, so it cannot be created later as something writable).
        /// - hidden: an empty read-only tmpfs with mode 000 over a directory (or a missing path), or an empty
        ///   unreadable file over a file.
        nonisolated func guardMounts(
            _ files: [FileMount], rootfs: String, sessionDirectory: String, user: (uid_t, gid_t)
        ) throws(PaddockError) -> [OCIMount] {
            var mounts: [OCIMount] = []
            for file in files {
                guard file.path.hasPrefix("/"), !file.path.split(separator: "/").contains("..") else {
                    throw .invalidArgument("file guardrail path '\(file.path)' must be absolute and without '..'")
                }
                let host = rootfs + file.path
                var st = Glibc.stat()
                let exists = lstat(host, &st) == 0
                if file.hidden {
                    if exists && (st.st_mode & S_IFMT) != S_IFDIR {
                        let empty = "\(sessionDirectory)/hidden-file"
                        if !Syscalls.exists(empty) {
                            try AtomicFile.write([], to: empty, mode: 0)
                        }
                        mounts.append(
                            .init(
                                destination: file.path, type: "bind", source: empty,
                                options: ["bind", "ro", "nosuid", "nodev", "noexec"]))
                    } else {
                        mounts.append(
                            .init(
                                destination: file.path, type: "tmpfs", source: "tmpfs",
                                options: ["ro", "nosuid", "nodev", "noexec", "mode=000", "size=4k", "nr_inodes=2"]))
                    }
                } else {
                    if !exists { try makeDirectories(under: rootfs, file.path, owner: user) }
                    mounts.append(
                        .init(
                            destination: file.path, type: "bind", source: host,
                            options: ["rbind", "ro", "nosuid", "nodev"]))
                }
            }
            return mounts
        }

        /// `mkdir -p` inside the sandbox's root for a path that does not exist yet; new directories belong to the
        /// sandbox user, as if it had made them.
        private nonisolated func makeDirectories(under rootfs: String, _ path: String, owner: (uid_t, gid_t))
            throws(PaddockError)
        {
            var current = rootfs
            for part in path.split(separator: "/") {
                current += "/\(part)"
                var st = Glibc.stat()
                if lstat(current, &st) == 0 {
                    guard (st.st_mode & S_IFMT) == S_IFDIR else {
                        throw .invalidArgument(
                            "file guardrail path '\(path)' goes through \(current.dropFirst(rootfs.count)), which is "
                                + "not a directory in the template")
                    }
                    continue
                }
                try Syscalls.makeDirectory(current, mode: 0o755, owner: owner)
            }
        }
    }
#endif
