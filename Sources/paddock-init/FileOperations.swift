import Glibc
import PaddockInitProtocol

/// The one-reply file requests: stat, listDir, makeDir, remove, rename. Each runs as the requesting user.
enum FileOperations {
    /// `lstat` of one path.
    static func stat(_ path: String, as user: WireUser) throws(InitFailure) -> WireMessage {
        let path = try SandboxPath.validate(path)
        return try UserIdentity.perform(as: user) { () throws(InitFailure) in
            switch fileStatus(path, followSymlinks: false) {
            case .success(let status): .files([info(path: path, name: SandboxPath.name(path), status: status)])
            case .failure(let error): throw InitFailure(errno: error.code, "cannot stat '\(path)'")
            }
        }
    }

    /// Entries below `path` down to `depth` levels (1 = direct children), symlinks not followed,
    /// sorted by path. `path` itself may be a symlink to a directory.
    static func listDir(_ path: String, depth: UInt32, as user: WireUser) throws(InitFailure) -> WireMessage {
        let path = try SandboxPath.validate(path)
        let depth = Int(min(max(depth, 1), 256))
        return try UserIdentity.perform(as: user) { () throws(InitFailure) in
            switch fileStatus(path, followSymlinks: true) {
            case .failure(let error): throw InitFailure(errno: error.code, "cannot list '\(path)'")
            case .success(let status) where !status.isDirectory:
                throw InitFailure(.invalidArgument, errno: ENOTDIR, "cannot list '\(path)': not a directory")
            case .success: break
            }
            var listing = Listing(root: path, depth: depth)
            try listing.collect(path, level: 1)
            listing.entries.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
            return .files(listing.entries)
        }
    }

    /// Like `mkdir -p`; `already_exists` when `path` is already a directory (the host decides whether
    /// that matters).
    static func makeDir(_ path: String, as user: WireUser) throws(InitFailure) -> WireMessage {
        let path = try SandboxPath.validate(path)
        try UserIdentity.perform(as: user) { () throws(InitFailure) in
            try makeDirectories(path, mustCreate: true)
        }
        return .ok
    }

    /// Like `rm -rf` without following symlinks, except that a missing path is `not_found`.
    static func remove(_ path: String, as user: WireUser) throws(InitFailure) -> WireMessage {
        let path = try SandboxPath.validate(path)
        guard path != "/" else { throw InitFailure(.invalidArgument, errno: EINVAL, "refusing to remove '/'") }
        try UserIdentity.perform(as: user) { () throws(InitFailure) in
            if case .failure(let error) = fileStatus(path, followSymlinks: false) {
                throw InitFailure(errno: error.code, "cannot remove '\(path)'")
            }
            try removeTree(parent: AT_FDCWD, name: Array(path.utf8CString), display: path)
        }
        return .ok
    }

    /// rename(2), creating the destination's parent directories first. An existing destination file is
    /// replaced.
    static func rename(from: String, to: String, as user: WireUser) throws(InitFailure) -> WireMessage {
        let from = try SandboxPath.validate(from)
        let to = try SandboxPath.validate(to)
        try UserIdentity.perform(as: user) { () throws(InitFailure) in
            if case .failure(let error) = fileStatus(from, followSymlinks: false) {
                throw InitFailure(errno: error.code, "cannot rename '\(from)'")
            }
            try makeDirectories(SandboxPath.parent(to), mustCreate: false)
            guard Glibc.rename(from, to) == 0 else {
                throw InitFailure(errno: errno, "cannot rename '\(from)' to '\(to)'")
            }
        }
        return .ok
    }

    /// `mkdir -p` with mode 0755 (under init's umask 022). With `mustCreate`, an existing directory at
    /// `path` is `already_exists`; existing parents are always fine.
    static func makeDirectories(_ path: String, mustCreate: Bool) throws(InitFailure) {
        if mkdir(path, 0o755) == 0 { return }
        var code = errno
        if code == ENOENT {
            let parent = SandboxPath.parent(path)
            guard parent != path else { throw InitFailure(errno: code, "cannot create directory '\(path)'") }
            try makeDirectories(parent, mustCreate: false)
            if mkdir(path, 0o755) == 0 { return }
            code = errno
        }
        guard code == EEXIST else { throw InitFailure(errno: code, "cannot create directory '\(path)'") }
        guard case .success(let status) = fileStatus(path, followSymlinks: true), status.isDirectory else {
            throw InitFailure(.alreadyExists, errno: EEXIST, "'\(path)' already exists and is not a directory")
        }
        if mustCreate {
            throw InitFailure(.alreadyExists, errno: EEXIST, "directory '\(path)' already exists")
        }
    }

    /// Removes `name` relative to the directory `parent`, descending into directories through
    /// descriptors opened with O_NOFOLLOW, so a symlink swapped in mid-way is removed, never followed.
    private static func removeTree(parent: Int32, name: [CChar], display: String) throws(InitFailure) {
        if unlinkat(parent, name, 0) == 0 { return }
        let code = errno
        // Linux reports EISDIR for unlink of a directory (POSIX allows EPERM).
        guard code == EISDIR || code == EPERM else { throw InitFailure(errno: code, "cannot remove '\(display)'") }
        let fd = retryingEINTR { openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else {
            // Not a directory after all: the EPERM was real.
            throw InitFailure(errno: errno == ENOTDIR ? code : errno, "cannot remove '\(display)'")
        }
        guard let directory = fdopendir(fd) else {
            let openError = errno
            closeDescriptor(fd)
            throw InitFailure(errno: openError, "cannot remove '\(display)'")
        }
        defer { closedir(directory) }
        // Read every name first: removing entries while readdir walks the same stream may skip some.
        var names: [[CChar]] = []
        while let entry = readdir(directory) {
            let child = entryName(entry)
            if child == [46, 0] || child == [46, 46, 0] { continue }  // "." and ".."
            names.append(child)
        }
        for child in names {
            try removeTree(parent: fd, name: child, display: SandboxPath.join(display, displayName(child)))
        }
        guard unlinkat(parent, name, AT_REMOVEDIR) == 0 else {
            throw InitFailure(errno: errno, "cannot remove directory '\(display)'")
        }
    }

    static func info(path: String, name: String, status: Glibc.stat) -> WireFileInfo {
        let kind: WireFileInfo.Kind =
            switch status.fileType {
            case S_IFREG: .file
            case S_IFDIR: .directory
            case S_IFLNK: .symlink
            default: .other
            }
        return WireFileInfo(
            name: name, path: path, kind: kind, size: UInt64(max(status.st_size, 0)), mode: status.st_mode,
            uid: status.st_uid, gid: status.st_gid,
            mtimeNanos: Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec),
            symlinkTarget: status.isSymlink ? linkTarget(path) : nil,
            metadata: status.isSymlink ? [:] : FileMetadata.read(path))
    }

    private static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(path, &buffer, buffer.count - 1)
        guard length >= 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A `listDir` in progress, bounded so the reply fits in one frame.
private struct Listing {
    let root: String
    let depth: Int
    var entries: [WireFileInfo] = []
    /// An estimate of the encoded reply, kept under the frame limit.
    private var encodedSize = 16

    init(root: String, depth: Int) {
        self.root = root
        self.depth = depth
    }

    mutating func collect(_ directory: String, level: Int) throws(InitFailure) {
        guard let stream = opendir(directory) else {
            // Below the root an unreadable directory is listed but not descended into.
            if level == 1 { throw InitFailure(errno: errno, "cannot list '\(directory)'") }
            return
        }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = displayName(entryName(entry))
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(stream)
        var subdirectories: [String] = []
        for name in names {
            let path = SandboxPath.join(directory, name)
            guard case .success(let status) = fileStatus(path, followSymlinks: false) else { continue }  // gone
            let entry = FileOperations.info(path: path, name: name, status: status)
            encodedSize += 48 + entry.name.utf8.count + entry.path.utf8.count + (entry.symlinkTarget?.utf8.count ?? 0)
            guard encodedSize < wireMaxFrame - 4096 else {
                throw InitFailure(
                    .resourceExhausted, errno: E2BIG,
                    "listing '\(root)' to depth \(depth) exceeds one reply (\(entries.count) entries); use a smaller depth"
                )
            }
            entries.append(entry)
            if status.isDirectory && level < depth { subdirectories.append(path) }
        }
        for path in subdirectories { try collect(path, level: level + 1) }
    }
}

/// A directory entry's name as NUL-terminated bytes (names need not be UTF-8).
func entryName(_ entry: UnsafeMutablePointer<dirent>) -> [CChar] {
    // Read through a pointer up to the NUL: the record may be shorter than sizeof(dirent).
    withUnsafeMutablePointer(to: &entry.pointee.d_name) { tuple in
        tuple.withMemoryRebound(to: CChar.self, capacity: 256) { name in
            Array(UnsafeBufferPointer(start: name, count: strlen(name) + 1))
        }
    }
}

func displayName(_ name: [CChar]) -> String {
    String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
