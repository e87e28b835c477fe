import Foundation
import NIOCore
import NIOPosix
import NIOSSL

@testable import PaddockServer

/// A browser-like HTTP/1.1 client for the preview listener: raw requests on one kept-alive connection (the
/// Host header picks the preview), answers read by their framing, and a WebSocket spoken by hand.
struct PreviewClient {
    struct Answer {
        var head: PreviewHTTPHead
        var body: [UInt8]
        var status: Int { head.status }
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { head.value(name) }
        func json() throws -> [String: Any] {
            (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
        }
    }

    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var buffer: [UInt8] = []

    /// With `tlsHost`, speaks HTTPS (naming that host for SNI; the test's certificate is not verified).
    static func with<T>(port: Int, tlsHost: String? = nil, _ body: (inout PreviewClient) async throws -> T)
        async throws -> T
    {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsHost {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: context, serverHostname: tlsHost))
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var client = PreviewClient(iterator: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&client)
        }
    }

    /// One request on a fresh connection.
    static func request(
        port: Int, host: String, _ method: String = "GET", _ target: String = "/", headers: [String: String] = [:],
        body: [UInt8] = []
    ) async throws -> Answer {
        try await with(port: port) {
            try await $0.request(host: host, method, target, headers: headers, body: body)
        }
    }

    mutating func send(_ bytes: [UInt8]) async throws { try await outbound.write(ByteBuffer(bytes: bytes)) }

    mutating func request(
        host: String, _ method: String = "GET", _ target: String = "/", headers: [String: String] = [:],
        body: [UInt8] = []
    ) async throws -> Answer {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        try await send(Array(text.utf8) + body)
        return try await answer(method: method)
    }

    mutating func more() async throws -> Bool {
        guard let next = try await iterator.next() else { return false }
        buffer += next.readableBytesView
        return true
    }

    mutating func answer(method: String = "GET") async throws -> Answer {
        var end = PreviewHTTPHead.end(in: buffer)
        while end == nil {
            guard try await more() else { throw PreviewClientError.closed("before an answer's head") }
            end = PreviewHTTPHead.end(in: buffer)
        }
        guard let end, let head = PreviewHTTPHead(buffer[..<end]) else { throw PreviewClientError.closed("bad head") }
        buffer.removeFirst(end)
        var body: [UInt8] = []
        switch head.framing(requestMethod: method) {
        case .none: break
        case .length(let n):
            while buffer.count < n { guard try await more() else { throw PreviewClientError.closed("in a body") } }
            body = Array(buffer[..<n])
            buffer.removeFirst(n)
        case .chunked:
            while true {
                while PreviewHTTPHead.lineEnd(in: buffer) == nil {
                    guard try await more() else { throw PreviewClientError.closed("in a chunk") }
                }
                let lineEnd = PreviewHTTPHead.lineEnd(in: buffer) ?? 0
                let size = Int(String(decoding: buffer[..<(lineEnd - 2)], as: UTF8.self), radix: 16) ?? 0
                while buffer.count < lineEnd + size + 2 {
                    guard try await more() else { throw PreviewClientError.closed("in a chunk") }
                }
                body += buffer[lineEnd..<(lineEnd + size)]
                buffer.removeFirst(lineEnd + size + 2)
                if size == 0 { break }
            }
        case .close, .invalid:
            while try await more() {}
            body = buffer
            buffer = []
        }
        return Answer(head: head, body: body)
    }

    /// Upgrades to a WebSocket; returns the 101 answer.
    mutating func upgrade(host: String, headers: [String: String] = [:]) async throws -> Answer {
        var h = headers
        h["Upgrade"] = "websocket"
        h["Connection"] = "Upgrade"
        h["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
        h["Sec-WebSocket-Version"] = "13"
        return try await request(host: host, "GET", "/ws", headers: h)
    }

    /// Sends a masked text frame and reads the echoed one; nil when the connection closed instead.
    mutating func echo(_ text: String) async throws -> String? {
        let payload = Array(text.utf8)
        let mask: [UInt8] = [1, 2, 3, 4]
        var frame: [UInt8] = [0x81, 0x80 | UInt8(payload.count)]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        do { try await send(frame) } catch { return nil }
        while buffer.count < 2 || buffer.count < 2 + Int(buffer[1] & 0x7f) {
            guard (try? await more()) == true else { return nil }
        }
        let n = Int(buffer[1] & 0x7f)
        let echoed = String(decoding: buffer[2..<(2 + n)], as: UTF8.self)
        buffer.removeFirst(2 + n)
        return echoed
    }

    /// Whether the server closed the connection (reads until it does; nil-safe for a test's deadline).
    mutating func closed() async -> Bool {
        do {
            while try await more() {}
            return true
        } catch { return true }
    }
}

enum PreviewClientError: Error {
    case closed(String)
}

extension PreviewHTTPHead {
    /// The index after the first CRLF.
    static func lineEnd(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        for i in 1..<bytes.count where bytes[i] == 0x0a && bytes[i - 1] == 0x0d { return i + 1 }
        return nil
    }
}
