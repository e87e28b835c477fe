import Glibc

/// Bytes waiting to be written to a non-blocking descriptor, consumed from the front.
struct ByteQueue {
    private var storage: [UInt8] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }

    mutating func append(_ bytes: [UInt8]) {
        if storage.isEmpty {
            storage = bytes
        } else {
            storage.append(contentsOf: bytes)
        }
    }

    /// Writes as much as the descriptor accepts now. Returns the errno of a hard failure (EAGAIN is not
    /// one). Storage is released once empty, so a finished large transfer does not pin memory.
    mutating func write(to fd: Int32) -> Int32? {
        while !isEmpty {
            let written = storage.withUnsafeBytes { raw in
                retryingEINTR { Glibc.write(fd, raw.baseAddress.map { $0 + head }, raw.count - head) }
            }
            if written < 0 {
                let code = errno
                return code == EAGAIN || code == EWOULDBLOCK ? nil : code
            }
            head += written
            if head == storage.count {
                removeAll()
            } else if head > 256 * 1024 && head * 2 > storage.count {
                storage.removeFirst(head)
                head = 0
            }
        }
        return nil
    }

    mutating func removeAll() {
        storage = []
        head = 0
    }
}
