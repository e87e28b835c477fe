import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Bytes that are not HTTP/1.1 get `400` and a closed connection; connections that say nothing are closed.
/// Over real sockets on loopback, against the `/v1` and E2B servers as `paddock server` builds them.
struct MalformedHTTPTests {
    enum Server: String, CaseIterable, Sendable { case v1, e2b }

    static let timeouts = ConnectionTimeouts(firstRequest: .seconds(1), idle: .seconds(1))

    /// Runs the server on an ephemeral port of 127.0.0.1 and calls `body` with the port.
    static func withServer(_ server: Server, _ body: @Sendable (Int) async throws -> Void) async throws {
        try await FakeStack.with("http-\(server.rawValue)") { stack, _, _ in
            let logger = TestHost.quietLogger("http")
            switch server {
            case .v1:
                let app = buildApplication(
                    sessions: stack.sessions, tokens: stack.tokens,
                    configuration: ServerConfiguration(port: 0, timeouts: timeouts), logger: logger)
                try await app.test(.live) { client in try await body(try #require(client.port)) }
            case .e2b:
                let app = buildE2BApplication(
                    sessions: stack.sessions, tokens: stack.tokens,
                    configuration: E2BConfiguration(port: 0, timeouts: timeouts), logger: logger)
                try await app.test(.live) { client in try await body(try #require(client.port)) }
            }
        }
    }

    static let tlsClientHello: [UInt8] =
        [0x16, 0x03, 0x01, 0x00, 0x2F, 0x01, 0x00, 0x00, 0x2B, 0x03, 0x03] + Array(repeating: 0x42, count: 32)
        + [0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]

    static let malformed: [(String, [UInt8])] = [
        ("NUL in a header", Array("GET /health HTTP/1.1\r\nHost: x\r\nX-Bad: a\u{0}b\r\n\r\n".utf8)),
        ("header line without a colon", Array("GET /health HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n".utf8)),
        ("TLS ClientHello", tlsClientHello),
        ("HTTP/2 preface", Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)),
        ("garbage request line", Array("\u{1}\u{2}\u{3} / HTTP/1.1\r\n\r\n".utf8)),
    ]

    @Test(arguments: Server.allCases)
    func malformedRequestsAreAnswered400AndClosed(server: Server) async throws {
        try await Self.withServer(server) { port in
            for (what, bytes) in Self.malformed {
                let reply = await RawConnection.exchange(port: port, send: bytes)
                #expect(reply.text.hasPrefix("HTTP/1.1 400"), "\(server) \(what): \(reply.text.prefix(200))")
                #expect(reply.closed, "\(server) \(what): the connection stayed open")
            }
            // Well-formed requests still work.
            let path = server == .v1 ? "/v1/health" : "/health"
            let ok = await RawConnection.exchange(
                port: port, send: Array("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            #expect(ok.text.hasPrefix("HTTP/1.1 200"), "\(server): \(ok.text.prefix(200))")
        }
    }

    @Test(arguments: Server.allCases)
    func silentPartialAndIdleConnectionsAreClosed(server: Server) async throws {
        try await Self.withServer(server) { port in
            let silent = await RawConnection.exchange(port: port, send: [])
            #expect(silent.closed && silent.text.isEmpty, "\(server) silent: \(silent.text.prefix(200))")
            let partial = await RawConnection.exchange(port: port, send: Array("GET / HTTP/1.1\r\nHost: x\r\n".utf8))
            #expect(partial.closed, "\(server): a half-sent head kept the connection open")
            let path = server == .v1 ? "/v1/health" : "/health"
            let kept = await RawConnection.exchange(
                port: port, send: Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(kept.text.hasPrefix("HTTP/1.1 200"), "\(server): \(kept.text.prefix(200))")
            #expect(kept.closed, "\(server): an idle kept-alive connection stayed open")
        }
    }
}

/// A plain TCP client on 127.0.0.1, on its own thread (its reads block).
enum RawConnection {
    struct Reply: Sendable {
        var text: String
        /// The server closed the connection before the deadline.
        var closed: Bool
    }

    /// Connects, sends `bytes`, and reads until the server closes the connection or `deadline` passes. The
    /// deadline is generous: the test waits for the close, it does not time it.
    static func exchange(port: Int, send bytes: [UInt8], deadline: Duration = .seconds(30)) async -> Reply {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: blockingExchange(port: port, send: bytes, deadline: deadline))
            }
        }
    }

    private static func blockingExchange(port: Int, send bytes: [UInt8], deadline: Duration) -> Reply {
        let fd = LoopbackSocket.connect(port: port)
        guard fd >= 0 else { return Reply(text: "connect() failed", closed: false) }
        defer { close(fd) }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            sent += n
        }
        var wait = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                received += buffer[0..<n]
            } else if n == 0 {
                return Reply(text: String(decoding: received, as: UTF8.self), closed: true)
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                // A reset is a close too.
                return Reply(text: String(decoding: received, as: UTF8.self), closed: true)
            }
        }
        return Reply(text: String(decoding: received, as: UTF8.self), closed: false)
    }
}
