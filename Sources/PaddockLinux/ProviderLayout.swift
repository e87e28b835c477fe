#if os(Linux)
    import CPaddockShim
    import Glibc
    import Logging
    import PaddockCore

    /// Where the local provider keeps things under its state directory (`StateDirectory`).
    struct ProviderLayout: Sendable {
        /// The provider's state directory (the server's data directory, or one sandboxes can reach).
        let dataDirectory: String
        var sessions: String { "\(dataDirectory)/sessions" }
        var runtimeState: String { "\(dataDirectory)/runtime" }
        var templates: String { "\(dataDirectory)/templates" }
        /// Sealed snapshot layers, one directory each (`LayerCopy`).
        var layers: String { "\(dataDirectory)/layers" }
        func layer(_ id: String) -> String { "\(layers)/\(id)" }
        /// Checkpoint images of snapshots that keep processes, one directory per layer id (gVisor).
        var processImages: String { "\(dataDirectory)/processes" }
        func processImage(_ layer: String) -> String { "\(processImages)/\(layer)" }
        var bin: String { "\(dataDirectory)/bin" }
        /// Formatted sandbox disk images, one per size (`ScratchDisk`).
        var disks: String { "\(dataDirectory)/disks" }

        /// The size of the filesystem holding the data directory: no sandbox disk may be larger.
        var dataFilesystemBytes: UInt64? {
            var fs = statvfs()
            guard statvfs(dataDirectory, &fs) == 0 else { return nil }
            return UInt64(fs.f_blocks) * UInt64(fs.f_frsize)
        }

        func detectScratchDisk(logger: Logger) async -> ScratchDisk {
            let disk = await ScratchDisk.detect(cacheDirectory: disks)
            if disk.backing == .tmpfs {
                logger.warning("sandbox disks fall back to tmpfs", metadata: ["disk.reason": "\(disk.summary)"])
            }
            return disk
        }
        /// Cgroup parent of this data directory's sandboxes: `/paddock-<hash of the data dir>`, so two servers
        /// (or test runs) on one host never see or clean up each other's cgroups.
        var cgroupParent: String {
            var hash: UInt32 = 2_166_136_261
            for b in dataDirectory.utf8 { hash = (hash ^ UInt32(b)) &* 16_777_619 }
            return "/paddock-" + String(hash, radix: 16)
        }

        func sessionDirectory(_ id: SessionID) -> String { "\(sessions)/\(id.rawValue)" }
        func socket(_ id: SessionID) -> String { "\(sessionDirectory(id))/run/init.sock" }

        /// Whether files in the state directory can be written with direct I/O (tmpfs before Linux 6.6 and some
        /// FUSE filesystems refuse it); known only by trying.
        func takesDirectIO() -> Bool {
            let probe = "\(sessions)/.direct-io-\(getpid())"
            let fd = pk_create_direct(probe)
            guard fd >= 0 else { return false }
            close(fd)
            unlink(probe)
            return true
        }

        /// Creates the directories. They are traversable (o+x) but not listable by others, because the runtime
        /// resolves bundle paths as the sandbox's unprivileged host uid.
        func prepare() throws(PaddockError) {
            try Syscalls.makeDirectory(dataDirectory, mode: 0o711)
            for d in [sessions, templates, bin] { try Syscalls.makeDirectory(d, mode: 0o711) }
            Self.spreadSubdirectories(sessions)
            try Syscalls.makeDirectory(runtimeState, mode: 0o700)
            // Layers hold files of every sandbox's user: only root may look inside.
            try Syscalls.makeDirectory(layers, mode: 0o700)
            // A process image holds a sandbox's memory, secrets it read included: root's alone.
            try Syscalls.makeDirectory(processImages, mode: 0o700)
            Self.spreadSubdirectories(layers)
            // Every ancestor must be traversable by the sandbox's mapped root for the runtime to reach the bundle.
            if let (dir, mode) = StateDirectory.untraversableAncestor(of: dataDirectory) {
                throw .unavailable(
                    "\(dir) is not traversable by other users (mode \(String(mode, radix: 8))), and sandboxes must "
                        + "reach \(dataDirectory); pass a --state-dir whose parents are, or chmod o+x \(dir)")
            }
        }

        /// Asks ext4 to place each new layer or session directory in a block group of its own choosing (chattr
        /// +T) rather than next to its parent. Both are created and deleted all the time; on ext4 without a journal the
        /// inode allocator steps one by one over inodes freed in the last minutes, and with every layer in the
        /// parent's group sealing a snapshot spent most of its time there (perf). Best effort: other filesystems
        /// have no such flag and need none.
        static func spreadSubdirectories(_ path: String) {
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { return }
            defer { close(fd) }
            _ = pk_mark_top_directory(fd)
        }

        /// Copies paddock-init into the data directory (read-only, root-owned) so sandboxes bind-mount a file
        /// that a rebuild of the source tree never changes under them. The copy is named by the source's size
        /// and modification time: a new build gets a new file, and running sandboxes keep the old one.
        func installInit(from source: String) async throws(PaddockError) -> String {
            var st = stat()
            guard fstatat(AT_FDCWD, source, &st, 0) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw .unavailable(
                    "paddock-init was not found at \(source); build it (`swift build`) or pass --init-binary")
            }
            let stamp = "\(st.st_size)-\(st.st_mtim.tv_sec)-\(st.st_mtim.tv_nsec)"
            let target = "\(bin)/paddock-init-\(stamp)"
            if Syscalls.exists(target) { return target }
            guard let cp = HostCommand.find("cp") else {
                throw .unavailable("cp is missing on the host; install coreutils")
            }
            let staging = target + ".tmp-\(getpid())"
            let copy = try await HostCommand.run(cp, [source, staging])
            guard copy.succeeded else {
                throw .unavailable("could not copy \(source) to \(staging): \(copy.stderr.trimmed)")
            }
            try Syscalls.check("making \(staging) executable") { chmod(staging, 0o755) }
            try Syscalls.publish(staging, as: target, "paddock-init at \(target)")
            return target
        }
    }
#endif
