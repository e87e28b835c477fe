import Glibc
import PaddockInitProtocol

/// A `watch` in progress: one inotify descriptor over a directory (and, recursive, the directories below it),
/// its raw events turned into E2B's (envd's, which uses fsnotify): create, write, remove, rename, chmod.
///
/// Init's own uploads replace an existing file through a temporary file in the same directory (see
/// `FileWriter`); that temporary file never shows, and its move into place reads as a write of the target.
final class DirectoryWatcher {
    /// Raw events read per `read(2)`.
    static let bufferSize = 64 * 1024
    /// Directories one recursive watch follows at most (each costs the sandbox one inotify watch).
    static let maxDirectories = 8192

    let fd: Int32
    let root: String
    let recursive: Bool
    let user: WireUser
    /// Watch descriptor → the directory's path relative to the root ("" for the root).
    private var directories: [Int32: String] = [:]
    /// Cookies of temporary upload files moved away: the matching arrival is the upload landing.
    private var landingUploads: Set<UInt32> = []
    /// The root went away (removed or moved): nothing more will come.
    private(set) var rootGone = false
    private var buffer = [UInt8](repeating: 0, count: DirectoryWatcher.bufferSize)

    private static let mask =
        UInt32(IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF)
        | UInt32(IN_MOVE_SELF) | UInt32(IN_ONLYDIR)

    private init(fd: Int32, root: String, recursive: Bool, user: WireUser) {
        self.fd = fd
        self.root = root
        self.recursive = recursive
        self.user = user
    }

    /// Starts watching `path` with `user`'s permissions: inotify checks read access with the filesystem
    /// identity of the caller, so a user cannot watch what it could not list.
    static func open(_ path: String, recursive: Bool, as user: WireUser) throws(InitFailure) -> DirectoryWatcher {
        let path = try SandboxPath.validate(path)
        let fd = inotify_init1(O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw InitFailure(errno: errno, "cannot watch '\(path)'") }
        let watcher = DirectoryWatcher(fd: fd, root: path, recursive: recursive, user: user)
        do throws(InitFailure) {
            try UserIdentity.perform(as: user) { () throws(InitFailure) in
                guard watcher.add(path, relative: "", followSymlink: true) else {
                    let code = errno
                    if code == ENOTDIR {
                        throw InitFailure(.invalidArgument, errno: code, "cannot watch '\(path)': not a directory")
                    }
                    throw InitFailure(errno: code, "cannot watch '\(path)'")
                }
            }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        return watcher
    }

    func close() { closeDescriptor(fd) }

    /// Adds a watch on `directory` and, when recursive, on the directories below it (symlinks below the root
    /// are not followed). False when `directory` itself cannot be watched (errno says why).
    private func add(_ directory: String, relative: String, followSymlink: Bool) -> Bool {
        guard directories.count < Self.maxDirectories else { return true }
        let mask = followSymlink ? Self.mask : Self.mask | UInt32(IN_DONT_FOLLOW)
        let wd = inotify_add_watch(fd, directory, mask)
        guard wd >= 0 else { return false }
        directories[wd] = relative
        guard recursive, let stream = opendir(directory) else { return true }
        var subdirectories: [String] = []
        while let entry = readdir(stream) {
            let name = displayName(entryName(entry))
            guard name != "." && name != ".." else { continue }
            let type = entry.pointee.d_type
            if type == UInt8(DT_DIR) {
                subdirectories.append(name)
            } else if type == UInt8(DT_UNKNOWN),
                case .success(let status) = fileStatus(SandboxPath.join(directory, name), followSymlinks: false),
                status.isDirectory
            {
                subdirectories.append(name)
            }
        }
        closedir(stream)
        for name in subdirectories {
            // A directory that vanished or is unreadable meanwhile is simply not followed.
            _ = add(SandboxPath.join(directory, name), relative: Self.join(relative, name), followSymlink: false)
        }
        return true
    }

    /// Reads what inotify has; nil when nothing is pending. A queue overflow loses events, which a watcher
    /// cannot recover; it is said in init's log and the stream goes on.
    func read() -> [WireFileEvent]? {
        let count = buffer.withUnsafeMutableBytes { raw in retryingEINTR { Glibc.read(fd, raw.baseAddress, raw.count) }
        }
        guard count > 0 else { return nil }
        var events: [WireFileEvent] = []
        var offset = 0
        let header = 16
        while offset + header <= count {
            let (wd, mask, cookie, length) = buffer.withUnsafeBytes { raw in
                (
                    raw.loadUnaligned(fromByteOffset: offset, as: Int32.self),
                    raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
                    raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self),
                    Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                )
            }
            let nameBytes = buffer[(offset + header)..<min(offset + header + length, count)].prefix { $0 != 0 }
            offset += header + length
            handle(wd: wd, mask: mask, cookie: cookie, name: String(decoding: nameBytes, as: UTF8.self), into: &events)
        }
        return events
    }

    private func handle(wd: Int32, mask: UInt32, cookie: UInt32, name: String, into events: inout [WireFileEvent]) {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
            diagnose("a directory watch on '\(root)' lost events (inotify queue overflow)")
            return
        }
        guard let directory = directories[wd] else { return }
        if mask & UInt32(IN_IGNORED) != 0 {
            directories[wd] = nil
            if directory.isEmpty { rootGone = true }
            return
        }
        if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
            // The parent's watch reports a subdirectory going; only the root's own departure matters here.
            if directory.isEmpty { rootGone = true }
            return
        }
        guard !name.isEmpty else { return }
        let path = Self.join(directory, name)
        if Self.isUploadTemporary(name) {
            if mask & UInt32(IN_MOVED_FROM) != 0 { landingUploads.insert(cookie) }
            return
        }
        let isDirectory = mask & UInt32(IN_ISDIR) != 0
        if mask & UInt32(IN_MOVED_TO) != 0, landingUploads.remove(cookie) != nil {
            events.append(WireFileEvent(kind: .write, path: path))
            return
        }
        if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
            events.append(WireFileEvent(kind: .create, path: path))
            if isDirectory && recursive {
                do throws(InitFailure) {
                    try UserIdentity.perform(as: user) { () throws(InitFailure) in
                        _ = add(SandboxPath.join(root, path), relative: path, followSymlink: false)
                    }
                } catch {
                    diagnose("a directory watch on '\(root)' cannot follow '\(path)': \(error)")
                }
            }
        }
        if mask & UInt32(IN_MODIFY) != 0 { events.append(WireFileEvent(kind: .write, path: path)) }
        if mask & UInt32(IN_ATTRIB) != 0 { events.append(WireFileEvent(kind: .chmod, path: path)) }
        if mask & UInt32(IN_DELETE) != 0 { events.append(WireFileEvent(kind: .remove, path: path)) }
        if mask & UInt32(IN_MOVED_FROM) != 0 { events.append(WireFileEvent(kind: .rename, path: path)) }
    }

    /// `FileWriter`'s temporary names: `.<name>.paddock-<pid>-<n>-<attempt>.tmp`.
    static func isUploadTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && name.hasSuffix(".tmp") && name.contains(".paddock-")
    }

    private static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : directory + "/" + name
    }
}
