import Glibc
import PaddockInitProtocol

/// A `writeFile` in progress. An existing file is replaced through a temporary file in the same directory
/// that takes its place only when `end` arrives, so readers never see it half-written and a broken upload
/// leaves the old content alone. A new file is written in place, as E2B's envd does (directory watchers see
/// it created, its mode set and written), and removed again if the upload breaks. No fsync: a sandbox's files
/// do not outlive a host crash anyway, and atomicity against concurrent readers is what matters.
final class FileWriter {
    let path: String
    private let temporaryPath: String?
    /// A new file written in place: an aborted upload removes it.
    private let createdInPlace: Bool
    private let user: WireUser
    private var fd: Int32?

    private init(path: String, temporaryPath: String?, createdInPlace: Bool = false, user: WireUser, fd: Int32) {
        self.path = path
        self.temporaryPath = temporaryPath
        self.createdInPlace = createdInPlace
        self.user = user
        self.fd = fd
    }

    /// Opens the destination (`append`) or a fresh temporary file. `mode` 0 keeps an existing file's
    /// permissions, or uses 0644 for a new one. `uniqueness` distinguishes concurrent uploads.
    static func open(
        _ path: String, mode: UInt32, append: Bool, as user: WireUser, uniqueness: Int
    ) throws(InitFailure) -> FileWriter {
        let path = try SandboxPath.validate(path)
        return try UserIdentity.perform(as: user) { () throws(InitFailure) -> FileWriter in
            var permissions = mode_t(mode & 0o7777)
            var exists = true
            switch fileStatus(path, followSymlinks: true) {
            case .success(let status) where status.isDirectory:
                throw InitFailure(.invalidArgument, errno: EISDIR, "cannot write '\(path)': it is a directory")
            case .success(let status):
                if mode == 0 { permissions = status.st_mode & 0o7777 }
            case .failure:
                if mode == 0 { permissions = 0o644 }
                exists = false
            }
            let directory = SandboxPath.parent(path)
            try FileOperations.makeDirectories(directory, mustCreate: false)
            if append {
                var fd = retryingEINTR { Glibc.open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY) }
                if fd < 0 && errno == ENOENT {
                    fd = try create(path, permissions: permissions)
                } else if fd < 0 {
                    throw InitFailure(errno: errno, "cannot open '\(path)' for appending")
                }
                return FileWriter(path: path, temporaryPath: nil, user: user, fd: fd)
            }
            if !exists {
                // Another upload creating the same file first (EEXIST) sends this one the temporary way.
                do throws(InitFailure) {
                    let fd = try create(path, permissions: permissions)
                    return FileWriter(path: path, temporaryPath: nil, createdInPlace: true, user: user, fd: fd)
                } catch  where error.errno == EEXIST {}
            }
            var attempt = 0
            while true {
                let name = ".\(SandboxPath.name(path)).paddock-\(getpid())-\(uniqueness)-\(attempt).tmp"
                let temporary = SandboxPath.join(directory, name)
                do throws(InitFailure) {
                    let fd = try create(temporary, permissions: permissions)
                    return FileWriter(path: path, temporaryPath: temporary, user: user, fd: fd)
                } catch  where error.errno == EEXIST && attempt < 8 {
                    attempt += 1  // a leftover from a crashed upload
                }
            }
        }
    }

    /// Creates a new file and sets its permissions exactly (not filtered by the umask).
    private static func create(_ path: String, permissions: mode_t) throws(InitFailure) -> Int32 {
        let fd = retryingEINTR { Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0o600) }
        guard fd >= 0 else { throw InitFailure(errno: errno, "cannot create '\(path)'") }
        guard fchmod(fd, permissions) == 0 else {
            let code = errno
            closeDescriptor(fd)
            _ = unlink(path)
            throw InitFailure(errno: code, "cannot set the mode of '\(path)'")
        }
        return fd
    }

    func write(_ bytes: [UInt8]) throws(InitFailure) {
        guard let fd else { return }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                retryingEINTR { Glibc.write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset) }
            }
            guard written > 0 else {
                throw InitFailure(errno: written < 0 ? errno : EIO, "cannot write '\(path)'")
            }
            offset += written
        }
    }

    /// Closes the file and moves it into place. On failure the temporary file is removed.
    func commit() throws(InitFailure) {
        guard let fd else { return }
        self.fd = nil
        // close can report a deferred write error (NFS, quota); the data is not safe if it does.
        if close(fd) != 0 {
            let code = errno
            if let temporaryPath { _ = unlink(temporaryPath) }
            if createdInPlace { _ = unlink(path) }
            throw InitFailure(errno: code, "cannot write '\(path)'")
        }
        guard let temporaryPath else { return }
        let path = path
        try UserIdentity.perform(as: user) { () throws(InitFailure) in
            guard rename(temporaryPath, path) == 0 else {
                let code = errno
                _ = unlink(temporaryPath)
                throw InitFailure(errno: code, "cannot replace '\(path)'")
            }
        }
    }

    /// Abandons the upload: closes and removes the temporary file. Appended data stays.
    func abort() {
        guard let fd else { return }
        self.fd = nil
        closeDescriptor(fd)
        if let temporaryPath { _ = unlink(temporaryPath) }
        if createdInPlace { _ = unlink(path) }
    }

    deinit { abort() }
}
