#if os(Linux)
    import Foundation
    import Glibc
    import PaddockCore
    import PaddockSandbox

    /// Template bases that bring their own userland: a Debian suite built with debootstrap, or an OCI image
    /// unpacked with umoci (skopeo first turns a `docker save` tarball into an image layout). Each is built
    /// once into `<templates>/bases/<key>/rootfs` — in a staging directory that is renamed into place only
    /// when complete, so a failed build leaves nothing behind — and shared read-only by every sandbox on it.
    enum ImageBase {
        /// Where a base of this kind lives, by a key that changes when its input does.
        static func key(for base: TemplateSpec.Base) -> String? {
            switch base {
            case .host: return nil
            case .debian(let suite): return "debian-\(suite)"
            case .oci(let path):
                let (file, _) = splitTag(path)
                var st = stat()
                let stampFile = Syscalls.isDirectory(file) ? "\(file)/index.json" : file
                let stamp = stat(stampFile, &st) == 0 ? "\(st.st_size)-\(st.st_mtim.tv_sec)-\(st.st_mtim.tv_nsec)" : "?"
                // A cache key, not a security boundary: FNV-1a of the path and the image's size and time.
                var hash: UInt64 = 14_695_981_039_346_656_037
                for b in "\(path)\n\(stamp)".utf8 { hash = (hash ^ UInt64(b)) &* 1_099_511_628_211 }
                return "oci-" + String(hash, radix: 16)
            }
        }

        /// The Debian mirror: `PADDOCK_DEBIAN_MIRROR`, else the host's own apt source, else Debian's default.
        static func debianMirror() -> String {
            if let env = getenv("PADDOCK_DEBIAN_MIRROR").map({ String(cString: $0) }), !env.isEmpty { return env }
            for file in ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"] {
                for line in (Syscalls.readFile(file) ?? "").split(separator: "\n") {
                    let words = line.split(separator: " ").map(String.init)
                    if words.first == "URIs:", let uri = words.dropFirst().first, uri.hasSuffix("/debian") {
                        return uri
                    }
                    if words.first == "deb", let uri = words.dropFirst().first(where: { $0.hasPrefix("http") }),
                        uri.hasSuffix("/debian")
                    {
                        return uri
                    }
                }
            }
            return "http://deb.debian.org/debian"
        }

        /// Builds the base unless it is there already; returns its root filesystem.
        static func prepare(
            _ base: TemplateSpec.Base, templatesDirectory: String, progress: @escaping @Sendable (String) async -> Void
        ) async throws -> String {
            guard let key = key(for: base) else { throw PaddockError.internal("the host base is not an image") }
            let bases = "\(templatesDirectory)/bases"
            let final = "\(bases)/\(key)"
            if Syscalls.isDirectory("\(final)/rootfs") { return "\(final)/rootfs" }
            try Syscalls.makeDirectory(bases, mode: 0o711)
            let staging = "\(bases)/.staging-\(key)-\(getpid())"
            LayerCopy.removeLayer(staging)
            try Syscalls.makeDirectory(staging, mode: 0o711)
            do {
                switch base {
                case .host: break
                case .debian(let suite): try await debootstrap(suite: suite, into: "\(staging)/rootfs", progress)
                case .oci(let path): try await unpack(image: path, staging: staging, progress)
                }
                try prepareForPaddock("\(staging)/rootfs")
                try Syscalls.publish(staging, as: final, "base \(final)")
            } catch {
                LayerCopy.removeLayer(staging)
                throw error
            }
            await progress("base \(base.text) is ready")
            return "\(final)/rootfs"
        }

        static func debootstrap(suite: String, into rootfs: String, _ progress: @Sendable (String) async -> Void)
            async throws
        {
            guard let tool = HostCommand.find("debootstrap") else {
                throw PaddockError.unavailable("debootstrap is not installed; apt-get install debootstrap")
            }
            let mirror = debianMirror()
            await progress("debootstrap \(suite) from \(mirror) (a few minutes the first time)")
            let r = try await HostCommand.run(
                tool, ["--variant=minbase", "--include=ca-certificates", suite, rootfs, mirror], outputLimit: 8 << 20)
            guard r.succeeded else {
                throw PaddockError.invalidArgument(
                    "debootstrap of '\(suite)' failed (exit \(r.status)): \(tail(r.stderr + r.stdout)); check the "
                        + "suite name and that \(mirror) is reachable (set PADDOCK_DEBIAN_MIRROR to another mirror)")
            }
            await progress("debootstrap finished")
        }

        static func unpack(image path: String, staging: String, _ progress: @Sendable (String) async -> Void)
            async throws
        {
            guard let umoci = HostCommand.find("umoci") else {
                throw PaddockError.unavailable("umoci is not installed; apt-get install umoci")
            }
            let (file, tag) = splitTag(path)
            var layout = file
            if !Syscalls.isDirectory(file) {
                guard Syscalls.exists(file) else {
                    throw PaddockError.notFound("no OCI image layout or docker save tarball at \(file)")
                }
                guard let skopeo = HostCommand.find("skopeo") else {
                    throw PaddockError.unavailable("skopeo is not installed (needed for a docker save tarball)")
                }
                await progress("converting the docker save tarball \(file) to an OCI layout")
                layout = "\(staging)/image"
                let r = try await HostCommand.run(skopeo, ["copy", "docker-archive:\(file)", "oci:\(layout):\(tag)"])
                guard r.succeeded else {
                    throw PaddockError.invalidArgument(
                        "\(file) is not a readable docker save tarball: \(tail(r.stderr)); create it with "
                            + "`docker save IMAGE -o FILE`")
                }
            } else if !Syscalls.exists("\(file)/oci-layout") {
                throw PaddockError.invalidArgument("\(file) is not an OCI image layout (it has no oci-layout file)")
            }
            await progress("unpacking \(layout):\(tag)")
            let r = try await HostCommand.run(umoci, ["unpack", "--image", "\(layout):\(tag)", "\(staging)/bundle"])
            guard r.succeeded else {
                throw PaddockError.invalidArgument(
                    "unpacking \(layout):\(tag) failed: \(tail(r.stderr)); check the tag exists (umoci ls --layout \(layout))"
                )
            }
            try Syscalls.check("moving the unpacked root") {
                Glibc.rename("\(staging)/bundle/rootfs", "\(staging)/rootfs")
            }
            LayerCopy.removeLayer("\(staging)/bundle")
            if layout != file { LayerCopy.removeLayer(layout) }
        }

        /// The mount points and identity every Paddock sandbox expects, added to a foreign root filesystem:
        /// the sandbox user (uid 1000), its home and the workspace, the init's mount point, and a resolver-less,
        /// identity-less `/etc` (the sandbox has no network of its own, and must not share the host's id).
        static func prepareForPaddock(_ root: String) throws(PaddockError) {
            for (dir, mode) in [
                ("etc", mode_t(0o755)), ("home", 0o755), ("home/user", 0o750), ("tmp", 0o1777), ("var", 0o755),
                ("var/tmp", 0o1777), ("run", 0o755), ("run/paddock", 0o700), ("proc", 0o555), ("sys", 0o555),
                ("dev", 0o755), ("workspace", 0o755), (".paddock", 0o755),
            ] where !Syscalls.exists("\(root)/\(dir)") {
                try Syscalls.makeDirectory("\(root)/\(dir)", mode: mode)
            }
            if !Syscalls.exists("\(root)\(SandboxLayout.initPath)") {
                try AtomicFile.write([], to: "\(root)\(SandboxLayout.initPath)", mode: 0o755)
            }
            let etc = "\(root)/etc"
            let shell =
                Syscalls.exists("\(root)/bin/bash") || Syscalls.exists("\(root)/usr/bin/bash") ? "/bin/bash" : "/bin/sh"
            try appendLine(
                "\(etc)/passwd", unlessField: SandboxLayout.userName,
                "\(SandboxLayout.userName):x:\(SandboxLayout.userID):\(SandboxLayout.groupID):Paddock sandbox user:"
                    + "\(SandboxLayout.home):\(shell)")
            try appendLine(
                "\(etc)/group", unlessField: SandboxLayout.userName,
                "\(SandboxLayout.userName):x:\(SandboxLayout.groupID):")
            for (name, content) in [
                ("hostname", "\(SandboxLayout.hostname)\n"),
                ("hosts", "127.0.0.1\tlocalhost \(SandboxLayout.hostname)\n::1\tlocalhost ip6-localhost\n"),
                ("resolv.conf", ""), ("machine-id", ""),
            ] {
                // A symlink (systemd images link resolv.conf) is replaced, never written through.
                unlink("\(etc)/\(name)")
                try AtomicFile.write(Array(content.utf8), to: "\(etc)/\(name)", mode: 0o644)
            }
        }

        static func appendLine(_ file: String, unlessField name: String, _ line: String) throws(PaddockError) {
            let text = Syscalls.readFile(file) ?? ""
            if text.split(separator: "\n").contains(where: { $0.split(separator: ":").first.map(String.init) == name })
            {
                return
            }
            let joined = text.isEmpty || text.hasSuffix("\n") ? text : text + "\n"
            try AtomicFile.write(Array((joined + line + "\n").utf8), to: file, mode: 0o644)
        }

        /// `PATH:TAG` → (PATH, TAG); a path whose last colon is part of a directory name keeps it.
        static func splitTag(_ path: String) -> (String, String) {
            guard let colon = path.lastIndex(of: ":"), !path[colon...].contains("/") else { return (path, "latest") }
            let file = String(path[..<colon])
            let tag = String(path[path.index(after: colon)...])
            return tag.isEmpty ? (file, "latest") : (file, tag)
        }

        static func tail(_ text: String) -> String {
            text.split(separator: "\n").suffix(5).joined(separator: " / ")
        }
    }
#endif
