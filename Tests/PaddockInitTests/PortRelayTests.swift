import Foundation
import Glibc
import PaddockInitProtocol
import Testing

/// A loopback TCP server for one connection that answers with what it read, upper-cased, once the
/// client finished sending; then it closes.
private final class UppercaseServer: @unchecked Sendable {
    let listener: Int32
    let port: UInt16
    private let thread: Thread

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 4) == 0 else {
            close(fd)
            throw HarnessError("bind/listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        thread = Thread {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                received += buffer[0..<n]
            }
            let answer = Array(String(decoding: received, as: UTF8.self).uppercased().utf8)
            _ = answer.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            close(client)
        }
        thread.start()
    }

    func stop() { close(listener) }
}

@Suite("paddock-init port relay")
struct PortRelayTests {
    @Test func relaysBytesBothWaysWithHalfClose() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let server = try UppercaseServer()
        defer { server.stop() }
        let client = try initProcess.connect()
        #expect(try client.request(.dial(port: server.port)) == .ok)
        // A payload larger than one socket buffer, so backpressure paths run too.
        let payload = Array(String(repeating: "hello relay ", count: 50_000).utf8)
        try client.sendRaw(payload)
        #expect(shutdown(client.fd, Int32(SHUT_WR)) == 0)
        let answer = try readToEnd(client.fd, timeout: 20)
        #expect(answer.count == payload.count)
        #expect(answer.prefix(12) == Array("HELLO RELAY ".utf8)[...])
    }

    @Test func aClosedPortIsNotFound() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let server = try UppercaseServer()
        let port = server.port
        server.stop()
        guard case .failure(let code, _, let message) = try initProcess.connect().request(.dial(port: port)) else {
            Issue.record("dialling a closed port did not fail")
            return
        }
        #expect(code == "not_found")
        #expect(message.contains("not open"))
    }

    @Test func wireRoundTrip() throws {
        let message = WireMessage.dial(port: 49999)
        #expect(try WireMessage(decoding: message.encoded()) == message)
    }

    private func readToEnd(_ fd: Int32, timeout: Double) throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(timeout)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var slot = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&slot, 1, 200) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return out }
            out += buffer[0..<n]
        }
        throw HarnessError("the relay did not end within \(timeout) s")
    }
}
