#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a file whole or not at all, and durably: readers (and a restart after a crash) see either the old
/// content or the new, never a half-written file. The one way state files, tokens and keys are written.
public enum AtomicFile {
    /// Writes `bytes` to `path` with exactly `mode` (not filtered by the umask): into a new temporary file in the
    /// same directory (created exclusively, so nothing else's file is ever reused), fsync'd, renamed over `path`,
    /// then the directory fsync'd so the rename itself survives a crash. On any failure before the rename the
    /// temporary file is removed and `path` is left as it was; a failure to sync the directory after it is
    /// reported too, with the new content already in place.
    ///
    /// `durable: false` skips both syncs: still whole or not at all for readers, but not across a crash. Only for a
    /// file in a staging area that a restart throws away, whose published form is synced when it is published.
    public static func write(
        _ bytes: some Collection<UInt8>, to path: String, mode: mode_t = 0o644, durable: Bool = true
    ) throws(PaddockError) {
        let (directory, name) = split(path)
        let (fd, staging) = try createStaging(in: directory, for: name, mode: mode)
        do throws(PaddockError) {
            try fill(fd, with: Array(bytes), staging: staging)
            // Exact mode: open's is filtered by the umask, and a key written 0600 must not come out otherwise.
            guard fchmod(fd, mode) == 0 else { throw failure("setting the mode of", staging, errno) }
            guard !durable || retrying({ fsync(fd) }) == 0 else { throw failure("syncing", staging, errno) }
        } catch {
            close(fd)
            unlink(staging)
            throw error
        }
        // close can report a write-back error on some filesystems (NFS): the data is then not safe.
        guard close(fd) == 0 else {
            let code = errno
            unlink(staging)
            throw failure("closing", staging, code)
        }
        guard rename(staging, path) == 0 else {
            let code = errno
            unlink(staging)
            throw failure("replacing", path, code)
        }
        if durable { try syncDirectory(directory, after: path) }
    }

    /// The directory (`.` for a bare name) and the file name of `path`.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    /// A hidden `.<name>.tmp-<pid>-<random>` beside the target, so a directory listing or a glob for the real
    /// name never picks it up. O_EXCL: a name another writer (or an attacker) made first is never written into.
    private static func createStaging(in directory: String, for name: String, mode: mode_t) throws(PaddockError)
        -> (Int32, String)
    {
        var attempts = 0
        while true {
            let staging = "\(directory)/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let fd = retrying { open(staging, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) }
            if fd >= 0 { return (fd, staging) }
            let code = errno
            attempts += 1
            guard code == EEXIST, attempts < 8 else {
                throw failure("creating a temporary file for", path(directory, name), code)
            }
        }
    }

    private static func fill(_ fd: Int32, with bytes: [UInt8], staging: String) throws(PaddockError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { p in p.baseAddress.map { writeSome(fd, $0 + offset, p.count - offset) } ?? 0
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure("writing", staging, n < 0 ? errno : EIO) }
            offset += n
        }
    }

    /// Syncs the directory that holds `path`, so that a rename to `path` just made survives a crash too.
    public static func syncDirectory(containing path: String) throws(PaddockError) {
        try syncDirectory(split(path).directory, after: path)
    }

    private static func syncDirectory(_ directory: String, after path: String) throws(PaddockError) {
        let fd = retrying { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw failure("opening the directory of", path, errno) }
        defer { close(fd) }
        // Some filesystems cannot sync a directory at all (EINVAL): their renames are as durable as they get.
        guard retrying({ fsync(fd) }) == 0 || errno == EINVAL else {
            throw failure("syncing the directory of", path, errno)
        }
    }

    private static func path(_ directory: String, _ name: String) -> String {
        directory == "/" ? "/\(name)" : "\(directory)/\(name)"
    }

    private static func retrying(_ body: () -> Int32) -> Int32 {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }

    private static func failure(_ what: String, _ path: String, _ code: Int32) -> PaddockError {
        .unavailable(
            "\(what) \(path) failed: \(String(cString: strerror(code))); check that its directory exists, is "
                + "writable and has free space")
    }
}

/// `write(2)`, named apart from `AtomicFile.write` and from each platform's module.
private func writeSome(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.write(fd, buffer, count)
    #else
        Darwin.write(fd, buffer, count)
    #endif
}
