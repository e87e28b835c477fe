import Glibc
import PaddockInitProtocol

/// A test failure with a message (a timeout, a refused connection).
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A small blocking client for paddock-init's socket. Every read is bounded by a timeout so a bug fails
/// the test instead of hanging the suite.
final class InitClient {
    let fd: Int32
    private var decoder = FrameDecoder()
    private var isClosed = false

    init(socketPath: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let code = errno
            Glibc.close(fd)
            throw HarnessError("connect \(socketPath): errno \(code)")
        }
    }

    deinit { close() }

    func send(_ message: WireMessage) throws { try sendRaw(message.framed()) }

    /// Sends bytes as they are (for malformed frames).
    func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw HarnessError("send: errno \(errno)") }
            offset += n
        }
    }

    /// The next message, or nil once init closed the connection.
    func receive(timeout: Double = 10) throws -> WireMessage? {
        let deadline = now() + timeout
        while true {
            if let payload = try decoder.next() { return try WireMessage(decoding: payload) }
            let remaining = deadline - now()
            guard remaining > 0 else { throw HarnessError("no message from paddock-init within \(timeout) s") }
            var slot = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&slot, 1, Int32(min(remaining * 1000, 60_000)) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == ECONNRESET { return nil }
            guard n >= 0 else { throw HarnessError("read: errno \(errno)") }
            if n == 0 {
                guard try decoder.next() == nil else { throw HarnessError("unreachable") }
                return nil
            }
            decoder.append(buffer[0..<n])
        }
    }

    /// Every message until init closes the connection.
    func receiveAll(timeout: Double = 20) throws -> [WireMessage] {
        let deadline = now() + timeout
        var messages: [WireMessage] = []
        while let message = try receive(timeout: max(deadline - now(), 0.001)) { messages.append(message) }
        return messages
    }

    /// Sends a one-reply request and returns the reply.
    func request(_ message: WireMessage) throws -> WireMessage? {
        try send(message)
        return try receive()
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    private func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// What a spawn/attach stream delivered.
struct ProcessTranscript {
    var pid: Int32?
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    var exit: (code: Int32, signal: Int32)?
    var failure: (code: String, message: String)?
    var messages: [WireMessage] = []

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    init(_ messages: [WireMessage]) {
        for message in messages { add(message) }
    }

    mutating func add(_ message: WireMessage) {
        messages.append(message)
        switch message {
        case .started(let pid): self.pid = pid
        case .stdout(let bytes): stdout += bytes
        case .stderr(let bytes): stderr += bytes
        case .exited(let code, let signal): exit = (code, signal)
        case .failure(let code, _, let message): failure = (code, message)
        default: break
        }
    }
}
