import Glibc
import PaddockInitProtocol

/// A `readFile` in progress: the file is read one chunk at a time, only while the connection's outgoing
/// buffer has room, so a large file never sits in memory.
final class FileReader {
    let path: String
    private var fd: Int32?

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    static func open(_ path: String, as user: WireUser) throws(InitFailure) -> FileReader {
        let path = try SandboxPath.validate(path)
        let fd = try UserIdentity.perform(as: user) { () throws(InitFailure) -> Int32 in
            // O_NONBLOCK so a FIFO cannot stall the loop in open; it is rejected just below.
            let fd = retryingEINTR { Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) }
            guard fd >= 0 else { throw InitFailure(errno: errno, "cannot read '\(path)'") }
            return fd
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let code = errno
            closeDescriptor(fd)
            throw InitFailure(errno: code, "cannot read '\(path)'")
        }
        guard status.isRegularFile else {
            closeDescriptor(fd)
            let what = status.isDirectory ? "is a directory" : "is not a regular file"
            throw InitFailure(
                .invalidArgument, errno: status.isDirectory ? EISDIR : EINVAL, "cannot read '\(path)': it \(what)")
        }
        return FileReader(path: path, fd: fd)
    }

    /// The next chunk, or nil at the end of the file.
    func next(into buffer: inout [UInt8]) throws(InitFailure) -> [UInt8]? {
        guard let fd else { return nil }
        let count = buffer.withUnsafeMutableBytes { raw in retryingEINTR { read(fd, raw.baseAddress, raw.count) } }
        guard count >= 0 else { throw InitFailure(errno: errno, "cannot read '\(path)'") }
        return count == 0 ? nil : Array(buffer[0..<count])
    }

    func close() {
        if let fd { closeDescriptor(fd) }
        fd = nil
    }

    deinit { close() }
}
