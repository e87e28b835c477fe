import Foundation
import PaddockCore

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP/1.1 client on one kept-alive loopback connection, blocking on its socket on a dispatch thread (outside
/// Swift's concurrency threads), as a client in another process would: what a request costs a server, without a
/// client library's machinery. AsyncHTTPClient in the benchmark's own process shares its event loops and concurrency
/// threads with the server it measures: a GET with no work behind it measured 0.30–0.47 ms through it, against
/// 0.18–0.22 ms from a plain socket client in another process. Each request's time is taken on that thread, from its first byte
/// written to its answer's last byte read. Bodies are read by `Content-Length`, which every answer a benchmark sends
/// it has; anything else is an error, and so is no answer within two minutes.
final class SocketHTTPClient: @unchecked Sendable {
    // Unchecked: the socket and the read buffer are only used on `queue`.
    private let fd: Int32
    private let queue: DispatchQueue
    private var buffer: [UInt8] = []
    /// What one `recv` reads into, kept: a new one per read would be allocated inside the timed round trip.
    private var chunk = [UInt8](repeating: 0, count: 64 << 10)

    struct Answer: Sendable {
        var status: Int
        /// Header names in lower case.
        var headers: [String: String]
        var body: [UInt8]
        /// Milliseconds from the request's first byte written to the answer's last byte read.
        var milliseconds: Double
    }

    init(port: Int, label: String) throws {
        queue = DispatchQueue(label: "paddock.bench.\(label)")
        fd = LoopbackSocket.connect(port: port)
        guard fd >= 0 else {
            throw PaddockError.internal(
                "the benchmark's HTTP client cannot connect to 127.0.0.1:\(port): errno \(errno)")
        }
        // Each request in one segment, as soon as it is written; a server that stops answering ends the benchmark.
        var on: Int32 = 1
        var patience = timeval(tv_sec: 120, tv_usec: 0)
        guard setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size)) == 0,
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, socklen_t(MemoryLayout<timeval>.size)) == 0
        else {
            let error = errno
            close(fd)
            throw PaddockError.internal("the benchmark's HTTP client cannot set up its socket: errno \(error)")
        }
    }

    deinit { close(fd) }

    /// Sends one request on the client's thread and reads its whole answer.
    func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) async throws
        -> Answer
    {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.exchange(method, path, headers, body) })
            }
        }
    }

    private func exchange(_ method: String, _ path: String, _ headers: [(String, String)], _ body: [UInt8]) throws
        -> Answer
    {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        let started = ContinuousClock.now
        try write(request)
        let (status, fields, length) = try readHead()
        let answer = try read(length)
        let milliseconds = Double((ContinuousClock.now - started) / .nanoseconds(1)) / 1e6
        return Answer(status: status, headers: fields, body: answer, milliseconds: milliseconds)
    }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else {
                throw PaddockError.internal("the benchmark's HTTP request could not be sent: errno \(errno)")
            }
            sent += n
        }
    }

    /// Reads more of the answer into `buffer`.
    private func fill() throws {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else {
            throw PaddockError.internal(
                n == 0
                    ? "the server closed the benchmark's connection before it answered"
                    : "the benchmark's server did not answer within two minutes (errno \(errno))")
        }
        buffer += chunk[..<n]
    }

    private func readHead() throws -> (Int, [String: String], Int) {
        let end = Array("\r\n\r\n".utf8)
        let found: Int
        while true {
            if let range = buffer.firstRange(of: end) {
                found = range.lowerBound
                break
            }
            try fill()
        }
        let lines = String(decoding: buffer[..<found], as: UTF8.self).components(separatedBy: "\r\n")
        buffer.removeFirst(found + end.count)
        let statusWords = lines.first?.split(separator: " ") ?? []
        guard statusWords.count >= 2, let status = Int(statusWords[1]) else {
            throw PaddockError.internal("the benchmark's server answered '\(lines.first ?? "")', not an HTTP status")
        }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard let length = fields["content-length"].flatMap({ Int($0) }) else {
            throw PaddockError.internal("the benchmark's server answered without a Content-Length (\(fields))")
        }
        return (status, fields, length)
    }

    private func read(_ length: Int) throws -> [UInt8] {
        while buffer.count < length { try fill() }
        let body = Array(buffer[..<length])
        buffer.removeFirst(length)
        return body
    }
}
