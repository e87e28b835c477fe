import CPaddockShim
import Glibc
import PaddockInitProtocol

/// A `dial` connection after it connected: bytes from the host go to a TCP connection to a port inside
/// the sandbox, and that connection's bytes go back to the host, unframed, with backpressure both ways.
final class PortRelay {
    /// The TCP connection to `127.0.0.1:port`.
    let fd: Int32
    /// Bytes from the host not yet written to the port.
    var toTarget = ByteQueue()
    /// The host shut down its sending side; once `toTarget` drains, the port sees EOF too.
    var hostFinished = false
    var targetWriteShut = false

    init(fd: Int32) { self.fd = fd }

    /// Connects to `127.0.0.1:port` and makes the socket non-blocking. A loopback connect completes or
    /// fails at once, so it is done blocking, which keeps the event loop simple.
    static func dial(port: UInt16) throws(InitFailure) -> PortRelay {
        guard port > 0 else { throw InitFailure(.invalidArgument, errno: EINVAL, "port 0 cannot be dialled") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw InitFailure(errno: errno, "cannot create a socket") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                retryingEINTR { connect(fd, raw, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard result == 0 else {
            let code = errno
            closeDescriptor(fd)
            if code == ECONNREFUSED {
                throw InitFailure(.notFound, errno: code, "port \(port) is not open in the sandbox")
            }
            throw InitFailure(errno: code, "cannot connect to port \(port) in the sandbox")
        }
        // A relay passes each write on as it comes (a request head, a WebSocket frame); Nagle would hold a
        // small one back for the previous one's ACK.
        var on: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return PortRelay(fd: fd)
    }

    /// `dialHandoff`: connects, sends `ok` with the socket attached, and ends the connection; the host then
    /// talks to the port directly and init carries none of its bytes. The reply is the connection's first and
    /// only write, so the socket buffer takes it whole.
    static func handOff(port: UInt16, to connection: Connection) throws(InitFailure) {
        let relay = try dial(port: port)
        defer { closeDescriptor(relay.fd) }
        let reply = WireMessage.ok.framed()
        let sent = reply.withUnsafeBytes { pk_send_with_fd(connection.fd, $0.baseAddress, $0.count, relay.fd) }
        guard sent == reply.count else {
            throw InitFailure(errno: sent < 0 ? errno : EAGAIN, "cannot hand the connection to port \(port) over")
        }
        connection.operation = .finished
    }

    /// Writes queued host bytes to the port; passes the host's EOF on once they are all out.
    /// Returns false on a hard write failure.
    func flushToTarget() -> Bool {
        if toTarget.write(to: fd) != nil { return false }
        if hostFinished && toTarget.isEmpty && !targetWriteShut {
            _ = shutdown(fd, Int32(SHUT_WR))
            targetWriteShut = true
        }
        return true
    }
}
