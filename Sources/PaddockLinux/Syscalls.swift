#if os(Linux)
    import Glibc
    import PaddockCore

    /// The low-level calls the provider makes, in one place: each retries EINTR and turns errno into a
    /// PaddockError whose message names the path and the operation.
    enum Syscalls {
        static func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

        /// Retries a call returning -1 on EINTR.
        @discardableResult
        static func retrying(_ body: () -> Int32) -> Int32 {
            while true {
                let r = body()
                if r == -1 && errno == EINTR { continue }
                return r
            }
        }

        static func check(_ what: @autoclosure () -> String, _ body: () -> Int32) throws(PaddockError) {
            if retrying(body) != 0 {
                let code = errno
                throw .internal("\(what()): \(errnoText(code))")
            }
        }

        static func mount(source: String, target: String, type: String, flags: UInt, data: String?) throws(PaddockError)
        {
            try check("mounting \(type) on \(target)") {
                if let data { return Glibc.mount(source, target, type, flags, data) }
                return Glibc.mount(source, target, type, flags, nil)
            }
        }

        /// Unmounts `target`, never following a symlink in its last component (a sandbox can make one inside its
        /// root; the host must never unmount where it points). A busy mount is detached (lazily unmounted)
        /// instead of failing, because a dying sandbox can briefly hold references after its processes were killed.
        static func unmount(_ target: String) throws(PaddockError) {
            let noFollow = Int32(UMOUNT_NOFOLLOW)
            if retrying({ umount2(target, noFollow) }) == 0 { return }
            let first = errno
            if first == EINVAL || first == ENOENT { return }  // not mounted any more
            if first == EBUSY, retrying({ umount2(target, Int32(MNT_DETACH) | noFollow) }) == 0 { return }
            throw .internal("unmounting \(target): \(errnoText(first))")
        }

        static func makeDirectory(_ path: String, mode: mode_t, owner: (uid_t, gid_t)? = nil) throws(PaddockError) {
            if retrying({ Glibc.mkdir(path, mode) }) != 0 && errno != EEXIST {
                throw .internal("creating directory \(path): \(errnoText())")
            }
            // mkdir's mode is filtered by the umask; set it exactly.
            try check("setting the mode of \(path)") { chmod(path, mode) }
            if let owner { try check("setting the owner of \(path)") { chown(path, owner.0, owner.1) } }
        }

        /// Writes a value into an existing kernel file (cgroup controls): no create, no temp file.
        static func writeExisting(_ path: String, _ text: String) throws(PaddockError) {
            let fd = retrying { open(path, O_WRONLY | O_TRUNC | O_CLOEXEC) }
            guard fd >= 0 else { throw .internal("opening \(path): \(errnoText())") }
            defer { close(fd) }
            let bytes = Array(text.utf8)
            let n = bytes.withUnsafeBytes { p in p.baseAddress.map { write(fd, $0, p.count) } ?? 0 }
            guard n == bytes.count else { throw .internal("writing \(text) to \(path): \(errnoText())") }
        }

        static func exists(_ path: String) -> Bool {
            var st = stat()
            return lstat(path, &st) == 0
        }

        static func isDirectory(_ path: String) -> Bool {
            var st = stat()
            return fstatat(AT_FDCWD, path, &st, 0) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
        }

        static func readFile(_ path: String, limit: Int = 1 << 20) -> String? {
            let fd = retrying { open(path, O_RDONLY | O_CLOEXEC) }
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var out = [UInt8]()
            var buf = [UInt8](repeating: 0, count: 16384)
            while out.count < limit {
                let n = buf.withUnsafeMutableBytes { p in read(fd, p.baseAddress, p.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                out.append(contentsOf: buf[0..<n])
            }
            return String(decoding: out, as: UTF8.self)
        }

        /// Removes a directory tree without following symlinks (like `rm -rf`), staying on one filesystem so a
        /// path that is still a mount point is never emptied through.
        static func removeTree(_ path: String) {
            var st = stat()
            guard lstat(path, &st) == 0 else { return }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                for child in listDirectory(path) {
                    var cst = stat()
                    let childPath = "\(path)/\(child)"
                    if lstat(childPath, &cst) == 0 && cst.st_dev != st.st_dev { continue }
                    removeTree(childPath)
                }
                rmdir(path)
            } else {
                unlink(path)
            }
        }

        static func listDirectory(_ path: String) -> [String] {
            guard let dir = opendir(path) else { return [] }
            defer { closedir(dir) }
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            return names.sorted()
        }
    }
#endif
