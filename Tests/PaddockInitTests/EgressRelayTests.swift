import Foundation
import Glibc
import Testing

/// paddock-init's egress relay: TCP on 127.0.0.1 to the gateway's unix socket, byte for byte, both ways, with
/// half-closes passed on; and fail-closed when nothing listens on the socket.
@Suite("paddock-init egress relay")
struct EgressRelayTests {
    @Test func relaysBothWaysAndPassesHalfClose() throws {
        let port = try freePort()
        var template = Array("/tmp/paddock-egress-test-XXXXXX".utf8CString)
        let directory = String(cString: try #require(mkdtemp(&template)))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gatewayPath = directory + "/egress.sock"
        let gateway = try UnixListener(path: gatewayPath)
        defer { gateway.close() }
        let initProcess = try RunningInit(extraArguments: [
            "--egress-port", String(port), "--egress-socket", gatewayPath,
        ])
        defer { initProcess.stop() }

        let client = try connectTCP(port: port)
        defer { close(client) }
        let server = try gateway.accept(timeout: 5)
        defer { close(server) }
        // 1 MiB each way exercises the queues and backpressure, not just one read.
        let upstream = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let downstream = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 17) }
        let writer = Thread {
            writeAll(client, upstream)
            shutdown(client, Int32(SHUT_WR))
        }
        writer.start()
        let received = readAll(server)
        #expect(received == upstream)
        writeAll(server, downstream)
        shutdown(server, Int32(SHUT_WR))
        #expect(readAll(client) == downstream)
    }

    @Test func failsClosedWithoutAGateway() throws {
        let port = try freePort()
        let initProcess = try RunningInit(extraArguments: [
            "--egress-port", String(port), "--egress-socket", "/tmp/paddock-no-such-dir-\(getpid())/egress.sock",
        ])
        defer { initProcess.stop() }
        let client = try connectTCP(port: port)
        defer { close(client) }
        writeAll(client, Array("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n".utf8))
        // The relay closes the connection: EOF (or a reset), never a response.
        #expect(readAll(client).isEmpty)
    }

    @Test func refusesHalfGivenOptions() throws {
        #expect(throws: (any Error).self) { try RunningInit(extraArguments: ["--egress-port", "3128"]) }
    }
}

/// An unused TCP port on 127.0.0.1 (bound to 0, read back, released).
func freePort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard ok else { throw HarnessError("cannot find a free port") }
    return UInt16(bigEndian: address.sin_port)
}

func connectTCP(port: UInt16) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let rc = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard rc == 0 else {
        close(fd)
        throw HarnessError("cannot connect to 127.0.0.1:\(port): \(errno)")
    }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return fd
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { raw in
            raw.baseAddress.map { write(fd, $0 + offset, bytes.count - offset) } ?? -1
        }
        if n <= 0 { return }
        offset += n
    }
}

/// Reads until EOF, an error or a 10 s receive timeout.
func readAll(_ fd: Int32) -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return out }
        out += buffer[0..<n]
    }
}

/// A unix listening socket standing in for the gateway.
final class UnixListener {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0, listen(fd, 8) == 0 else { throw HarnessError("cannot listen on \(path)") }
    }

    func accept(timeout: Int32) throws -> Int32 {
        var slot = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&slot, 1, timeout * 1000) == 1 else { throw HarnessError("the relay never connected") }
        let client = Glibc.accept(fd, nil, nil)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return client
    }

    func close() {
        Glibc.close(fd)
        unlink(path)
    }
}
