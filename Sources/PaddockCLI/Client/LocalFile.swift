import Foundation
import NIOCore
import PaddockCore

#if canImport(Glibc)
    import Glibc
#endif

/// A file on this machine that `paddock cp` reads or writes — a regular file, `-` (stdin or stdout), a pipe,
/// a device or a /proc file — with errors that say what is wrong with *it*, not with the server.
final class LocalFile: Sendable {
    /// `-` as a source or destination, as Unix tools take it.
    static let standardStream = "-"

    /// The name the user gave, for messages ("stdin"/"stdout" for `-`).
    let name: String
    let fd: Int32
    private let owned: Bool
    /// Its length, when it is known up front: regular files only. Pipes, terminals and /proc files (which
    /// report a size of 0 and have content) are sent without a length, chunked.
    let size: Int?
    /// Permission bits to give the copy (0644 for anything that is not a regular file).
    let mode: UInt32

    private init(name: String, fd: Int32, owned: Bool) throws(PaddockError) {
        self.name = name
        self.fd = fd
        self.owned = owned
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let e = errno
            if owned { close(fd) }
            throw Self.failure("cannot read", name, e)
        }
        let regular = info.st_mode & S_IFMT == S_IFREG
        size = regular && info.st_size > 0 ? Int(info.st_size) : nil
        mode = regular ? UInt32(info.st_mode) & 0o777 : 0o644
    }

    deinit { if owned { close(fd) } }

    /// Opens `path` (or stdin for `-`) to read.
    static func reading(_ path: String) throws(PaddockError) -> LocalFile {
        if path == standardStream { return try LocalFile(name: "stdin", fd: STDIN_FILENO, owned: false) }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot read", path, errno) }
        return try LocalFile(name: path, fd: fd, owned: true)
    }

    /// Opens `path` (or stdout for `-`) to write, creating or truncating it.
    static func writing(_ path: String) throws(PaddockError) -> LocalFile {
        if path == standardStream { return try LocalFile(name: "stdout", fd: STDOUT_FILENO, owned: false) }
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot write", path, errno) }
        return try LocalFile(name: path, fd: fd, owned: true)
    }

    /// Whether `path` names something to write into as it is — stdout, a device, a pipe — rather than a file
    /// to replace (written beside and renamed into place).
    static func isStream(_ path: String) -> Bool {
        if path == standardStream { return true }
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        let kind = info.st_mode & S_IFMT
        return kind == S_IFCHR || kind == S_IFIFO || kind == S_IFSOCK
    }

    /// The content in chunks, read as the upload asks for them. A read error ends the upload with a message
    /// about this file. (A blocking read on the CLI's own task: the HTTP client's I/O runs on its event loop.)
    func chunks() -> AsyncThrowingStream<ByteBuffer, any Error> {
        AsyncThrowingStream(unfolding: { [self] in
            var buffer = ByteBuffer()
            let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 1 << 16) { raw in
                while true {
                    let n = read(fd, raw.baseAddress, raw.count)
                    if n >= 0 { return n }
                    if errno != EINTR { throw Self.failure("cannot read", name, errno) }
                }
            }
            return count == 0 ? nil : buffer
        })
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(PaddockError) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Self.failure("cannot write", name, errno) }
            offset += n
        }
    }

    static func failure(_ action: String, _ name: String, _ code: Int32) -> PaddockError {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOENT: return .notFound("\(action) \(name): \(reason) (on this machine)")
        case EACCES, EPERM: return .permissionDenied("\(action) \(name): \(reason) (on this machine)")
        default: return .invalidArgument("\(action) \(name): \(reason) (on this machine)")
        }
    }
}
