#if os(Linux)
    import Glibc
    import PaddockCore
    import PaddockSandbox

    /// The default `host` template: this machine's own userland (`/usr`, `/opt`), read-only, under a small
    /// root skeleton with its own `/etc`, users and empty home — so git, python and compilers are there, but
    /// host data (`/root`, `/home`, `/work`, Paddock's data dir, sockets, `/dev/kvm`) is not.
    ///
    /// The skeleton is built once per data directory and reused by every session as the overlay's lower
    /// layer; `/usr` and `/opt` are read-only bind mounts of the host's.
    public struct HostTemplate: Sendable {
        /// Bump when the skeleton's content changes, so old data dirs rebuild it.
        static let version = "host-v2"
        /// Where the skeleton puts its few commands of its own, at the end of login shells' PATH.
        static let binDirectory = "/.paddock/bin"

        /// `/etc` entries never copied: password hashes, host keys, sudo rules, the machine identity.
        static let excludedEtc: Set<String> = [
            "shadow", "shadow-", "gshadow", "gshadow-", "sudoers", "sudoers.d", "machine-id", "ssh", "ssl/private",
            "security/opasswd", "passwd", "passwd-", "group", "group-", "subuid", "subgid", "hostname", "hosts",
            "resolv.conf", "mtab", "fstab", "crypttab", "docker", "containerd", "kubernetes", "wireguard",
        ]

        /// Top-level host directories whose content is userland (made visible read-only).
        static let userlandDirectories = ["usr", "opt"]
        /// Top-level names that are symlinks into /usr on merged-/usr systems, or real directories on others.
        static let legacyDirectories = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]

        public let rootfs: String
        public let readOnlyBinds: [SandboxSpecBuilder.ReadOnlyBind]

        /// Builds the skeleton under `templatesDirectory` unless it is already there.
        public static func prepare(templatesDirectory: String) async throws(PaddockError) -> HostTemplate {
            let final = "\(templatesDirectory)/\(version)"
            let binds = userlandBinds()
            if Syscalls.isDirectory("\(final)/rootfs") {
                return HostTemplate(rootfs: "\(final)/rootfs", readOnlyBinds: binds)
            }
            try Syscalls.makeDirectory(templatesDirectory, mode: 0o711)
            let staging = "\(templatesDirectory)/.staging-\(version)-\(getpid())"
            Syscalls.removeTree(staging)
            do {
                try await buildSkeleton(at: "\(staging)/rootfs")
                try Syscalls.publish(staging, as: final, "template \(final)")
            } catch {
                // A failed build leaves nothing half-built behind.
                Syscalls.removeTree(staging)
                throw error
            }
            return HostTemplate(rootfs: "\(final)/rootfs", readOnlyBinds: binds)
        }

        /// The host's userland directories (real directories, not merged-/usr links), bound read-only at the same
        /// paths in every sandbox.
        static func userlandBinds() -> [SandboxSpecBuilder.ReadOnlyBind] {
            (userlandDirectories + legacyDirectories).compactMap { name in
                let hostPath = "/\(name)"
                var st = stat()
                guard lstat(hostPath, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return nil }
                return .init(source: hostPath, destination: hostPath)
            }
        }

        /// Under `root`, the host's top-level legacy names as the host has them: a link where they link into /usr
        /// (merged-/usr systems), a directory (a bind's mount point) where they are directories.
        static func mirrorLegacyDirectories(in root: String) throws(PaddockError) {
            for name in legacyDirectories {
                var st = stat()
                let hostPath = "/\(name)"
                guard lstat(hostPath, &st) == 0 else { continue }
                if (st.st_mode & S_IFMT) == S_IFLNK {
                    var buf = [CChar](repeating: 0, count: 4096)
                    let n = readlink(hostPath, &buf, buf.count - 1)
                    if n > 0 {
                        let target = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                        try Syscalls.check("linking \(name)") { symlink(target, "\(root)/\(name)") }
                    }
                } else if (st.st_mode & S_IFMT) == S_IFDIR {
                    try Syscalls.makeDirectory("\(root)/\(name)", mode: 0o755)
                }
            }
        }

        static func buildSkeleton(at root: String) async throws(PaddockError) {
            try Syscalls.makeDirectory(String(root.dropLast("/rootfs".count)), mode: 0o711)
            try Syscalls.makeDirectory(root, mode: 0o755)
            let dirs: [(String, mode_t)] = [
                ("usr", 0o755), ("opt", 0o755), ("etc", 0o755), ("home", 0o755), ("home/user", 0o750), ("root", 0o700),
                ("tmp", 0o1777), ("var", 0o755), ("var/tmp", 0o1777), ("var/lib", 0o755), ("var/cache", 0o755),
                ("var/log", 0o755), ("run", 0o755), ("run/paddock", 0o700), ("proc", 0o555), ("sys", 0o555),
                ("dev", 0o755), ("mnt", 0o755), ("srv", 0o755), ("workspace", 0o755), (".paddock", 0o755),
            ]
            for (d, mode) in dirs { try Syscalls.makeDirectory("\(root)/\(d)", mode: mode) }
            // Mount point for the init binary (a file bind mount needs a file to land on).
            try AtomicFile.write([], to: "\(root)\(SandboxLayout.initPath)", mode: 0o755)

            try mirrorLegacyDirectories(in: root)

            try await copyEtc(to: "\(root)/etc")
            try writeIdentity(etc: "\(root)/etc")
            try writeCommands(root: root)
        }

        /// `sudo` (paddock-init's sudo client, which works only in sandboxes whose sudo socket the host opened) and
        /// `python` when the host has only `python3`, as in E2B's base template; login shells find them last on
        /// PATH, so a host's own `sudo` or `python` would win.
        static func writeCommands(root: String) throws(PaddockError) {
            try Syscalls.makeDirectory("\(root)\(binDirectory)", mode: 0o755)
            try Syscalls.check("linking sudo") { symlink(SandboxLayout.initPath, "\(root)\(binDirectory)/sudo") }
            if !Syscalls.exists("/usr/bin/python") && !Syscalls.exists("/usr/local/bin/python"),
                Syscalls.exists("/usr/bin/python3")
            {
                try Syscalls.check("linking python") { symlink("/usr/bin/python3", "\(root)\(binDirectory)/python") }
            }
            let profile = """
                # Paddock's own commands (sudo, python), after everything else on PATH.
                case ":$PATH:" in *":\(binDirectory):"*) ;; *) PATH="$PATH:\(binDirectory)" ;; esac

                """
            try Syscalls.makeDirectory("\(root)/etc/profile.d", mode: 0o755)
            try AtomicFile.write(Array(profile.utf8), to: "\(root)/etc/profile.d/paddock-bin.sh", mode: 0o644)
        }

        static func copyEtc(to etc: String) async throws(PaddockError) {
            guard let cp = HostCommand.find("cp") else {
                throw .unavailable("cp is missing on the host; install coreutils")
            }
            let r = try await HostCommand.run(cp, ["-a", "--no-preserve=ownership", "/etc/.", etc])
            // Unreadable special files are skipped; only a copy that produced nothing usable is an error.
            guard r.succeeded || Syscalls.exists("\(etc)/ld.so.cache") || Syscalls.exists("\(etc)/os-release") else {
                throw .internal("copying /etc into the host template failed: \(r.stderr.trimmed)")
            }
            for entry in excludedEtc { Syscalls.removeTree("\(etc)/\(entry)") }
            // Sockets, fifos and device nodes have no business in a template.
            try await removeSpecialFiles(in: etc)
        }

        static func removeSpecialFiles(in dir: String) async throws(PaddockError) {
            guard let find = HostCommand.find("find") else { return }
            _ = try await HostCommand.run(
                find,
                [dir, "(", "-type", "s", "-o", "-type", "p", "-o", "-type", "b", "-o", "-type", "c", ")", "-delete"])
        }

        static func writeIdentity(etc: String) throws(PaddockError) {
            let u = SandboxLayout.userID
            let g = SandboxLayout.groupID
            let files: [(String, String, mode_t)] = [
                (
                    "passwd",
                    """
                    root:x:0:0:root:/root:/bin/bash
                    \(SandboxLayout.userName):x:\(u):\(g):Paddock sandbox user:\(SandboxLayout.home):/bin/bash
                    nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

                    """, 0o644
                ),
                (
                    "group",
                    """
                    root:x:0:
                    tty:x:5:
                    \(SandboxLayout.userName):x:\(g):
                    nogroup:x:65534:

                    """, 0o644
                ),
                ("hostname", "\(SandboxLayout.hostname)\n", 0o644),
                ("hosts", "127.0.0.1\tlocalhost \(SandboxLayout.hostname)\n::1\tlocalhost ip6-localhost\n", 0o644),
                // No resolver: a sandbox in this release has loopback only.
                ("resolv.conf", "", 0o644),
                ("machine-id", "", 0o444),
            ]
            for (name, content, mode) in files {
                try AtomicFile.write(Array(content.utf8), to: "\(etc)/\(name)", mode: mode)
            }
            try Syscalls.check("linking /etc/mtab") { symlink("../proc/self/mounts", "\(etc)/mtab") }
        }
    }
#endif
