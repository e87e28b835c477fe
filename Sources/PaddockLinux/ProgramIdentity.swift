#if os(Linux)
    import CPaddockShim
    import Crypto
    import Glibc
    import PaddockSandbox
    import Synchronization

    /// Recognises a guarded program by its content, so `cp /usr/bin/rm /tmp/x; /tmp/x` is still `rm`.
    ///
    /// Digests (SHA-256) are cached by device, inode, size and modification time, so a binary is read once per
    /// change; an exec whose size matches no guarded program is not hashed at all.
    enum ProgramIdentity {
        struct Reference: Sendable {
            var digest: [UInt8]
            /// Where the program lives in the sandbox, e.g. `/usr/bin/rm`.
            var path: String
        }

        /// The guarded programs of one sandbox, by file size.
        struct References: Sendable {
            var bySize: [Int64: [Reference]] = [:]
        }

        private struct Key: Hashable {
            var device: UInt64
            var inode: UInt64
            var size: Int64
            var modified: Int
            var modifiedNanoseconds: Int
        }

        private static let cache = Mutex<[Key: [UInt8]]>([:])
        private static let cacheLimit = 4096

        /// Finds each named program in the sandbox's PATH (resolved within `root`) and records its digest.
        static func references(root: Int32, names: [String]) -> References {
            var refs = References()
            let directories = SandboxLayout.defaultPath.split(separator: ":").map(String.init)
            for name in Set(names) where !name.isEmpty && !name.contains("/") {
                for directory in directories {
                    let path = "\(directory)/\(name)"
                    let fd = pk_open_in_root(root, path, O_RDONLY)
                    guard fd >= 0 else { continue }
                    defer { close(fd) }
                    var st = stat()
                    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, let digest = digest(fd, st) else {
                        continue
                    }
                    refs.bySize[Int64(st.st_size), default: []].append(Reference(digest: digest, path: path))
                }
            }
            return refs
        }

        /// The SHA-256 of an open regular file, from the cache when the file did not change.
        static func digest(_ fd: Int32, _ st: stat) -> [UInt8]? {
            let key = Key(
                device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                modified: st.st_mtim.tv_sec, modifiedNanoseconds: st.st_mtim.tv_nsec)
            if let cached = cache.withLock({ $0[key] }) { return cached }
            var hasher = SHA256()
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var offset: off_t = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { return nil }
                if n == 0 { break }
                buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                offset += off_t(n)
            }
            let digest = Array(hasher.finalize())
            cache.withLock { cache in
                if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
                cache[key] = digest
            }
            return digest
        }
    }
#endif
