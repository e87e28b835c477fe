import CPaddockShim
import Glibc

/// The sandbox's only way out: a TCP listener on 127.0.0.1:<proxy port> inside the sandbox's network
/// namespace whose every connection is relayed, byte for byte, to the egress gateway's unix socket in the
/// bind-mounted control directory. The sandbox has no other interface than loopback, so a program that
/// ignores the proxy variables has nowhere to go; one that honours them reaches the gateway, which decides.
///
/// When the gateway is not listening (no socket, or it refuses) the connection is closed at once: fail closed.
final class EgressRelay {
    /// Bytes queued per direction above which the sending side is no longer read.
    static let highWater = 256 * 1024

    final class Pair {
        let inside: Int32
        let outside: Int32
        var toOutside = ByteQueue()
        var toInside = ByteQueue()
        var insideClosed = false
        var outsideClosed = false
        var outsideShut = false
        var insideShut = false

        init(inside: Int32, outside: Int32) {
            self.inside = inside
            self.outside = outside
        }
    }

    let listener: Int32
    let socketPath: String
    private(set) var pairs: [Int32: Pair] = [:]
    /// Both descriptors of each pair, to the pair.
    private var owners: [Int32: Pair] = [:]
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(listener: Int32, socketPath: String) {
        self.listener = listener
        self.socketPath = socketPath
    }

    /// A non-blocking TCP listener on 127.0.0.1:`port`, or nil (diagnosed) when it cannot be had.
    static func listen(port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else {
            diagnose("cannot create the egress listener: \(errnoDescription(errno))")
            return nil
        }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, 128) == 0 else {
            diagnose("cannot listen on 127.0.0.1:\(port) for egress: \(errnoDescription(errno))")
            closeDescriptor(fd)
            return nil
        }
        return fd
    }

    /// Accepts pending connections and dials the gateway for each.
    func acceptConnections() {
        for _ in 0..<64 {
            let inside = retryingEINTR { pk_accept_nonblocking(listener) }
            guard inside >= 0 else { return }
            var one: Int32 = 1
            _ = setsockopt(inside, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            guard let outside = dialGateway() else {
                closeDescriptor(inside)
                continue
            }
            let pair = Pair(inside: inside, outside: outside)
            pairs[inside] = pair
            owners[inside] = pair
            owners[outside] = pair
        }
    }

    private func dialGateway() -> Int32? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                retryingEINTR { connect(fd, raw, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        // A unix socket connects at once or not at all (EAGAIN means the gateway's backlog is full).
        guard connected == 0 else {
            closeDescriptor(fd)
            return nil
        }
        return fd
    }

    /// The descriptors to poll and the events wanted on each.
    func interests() -> [(fd: Int32, events: Int32)] {
        var out: [(Int32, Int32)] = []
        out.reserveCapacity(pairs.count * 2)
        for pair in pairs.values {
            var inside: Int32 = 0
            if !pair.insideClosed && pair.toOutside.count < Self.highWater { inside |= POLLIN }
            if !pair.toInside.isEmpty { inside |= POLLOUT }
            var outside: Int32 = 0
            if !pair.outsideClosed && pair.toInside.count < Self.highWater { outside |= POLLIN }
            if !pair.toOutside.isEmpty { outside |= POLLOUT }
            out.append((pair.inside, inside))
            out.append((pair.outside, outside))
        }
        return out
    }

    /// Moves bytes for the pair `fd` belongs to.
    func handle(fd: Int32, events: Int32) {
        guard let pair = owners[fd] else { return }
        let isInside = fd == pair.inside
        if events & POLLNVAL != 0 {
            close(pair)
            return
        }
        if events & POLLOUT != 0 {
            let failed = isInside ? pair.toInside.write(to: fd) : pair.toOutside.write(to: fd)
            if failed != nil {
                close(pair)
                return
            }
        }
        if events & (POLLIN | POLLHUP | POLLERR) != 0 {
            guard pump(from: fd, isInside: isInside, pair: pair) else {
                close(pair)
                return
            }
        }
        finishIfDone(pair)
    }

    /// Reads what is available (bounded) and forwards it; false on a hard error.
    private func pump(from fd: Int32, isInside: Bool, pair: Pair) -> Bool {
        for _ in 0..<4 {
            if isInside ? pair.toOutside.count >= Self.highWater : pair.toInside.count >= Self.highWater { break }
            let count = buffer.withUnsafeMutableBytes { raw in retryingEINTR { read(fd, raw.baseAddress, raw.count) } }
            if count < 0 {
                let code = errno
                return code == EAGAIN || code == EWOULDBLOCK
            }
            if count == 0 {
                if isInside { pair.insideClosed = true } else { pair.outsideClosed = true }
                break
            }
            let bytes = Array(buffer[0..<count])
            if isInside {
                pair.toOutside.append(bytes)
                if pair.toOutside.write(to: pair.outside) != nil { return false }
            } else {
                pair.toInside.append(bytes)
                if pair.toInside.write(to: pair.inside) != nil { return false }
            }
        }
        return true
    }

    /// Passes a half close on once its side's queue is flushed; closes the pair when both directions ended.
    private func finishIfDone(_ pair: Pair) {
        guard pairs[pair.inside] != nil else { return }
        if pair.insideClosed && pair.toOutside.isEmpty && !pair.outsideShut {
            _ = shutdown(pair.outside, Int32(SHUT_WR))
            pair.outsideShut = true
        }
        if pair.outsideClosed && pair.toInside.isEmpty && !pair.insideShut {
            _ = shutdown(pair.inside, Int32(SHUT_WR))
            pair.insideShut = true
        }
        if pair.outsideShut && pair.insideShut { close(pair) }
    }

    /// Ends every relayed connection (before a checkpoint, which cannot keep the host side); the listener inside
    /// the sandbox stays, so clients simply connect again.
    func closeAll() {
        for pair in Array(pairs.values) { close(pair) }
    }

    private func close(_ pair: Pair) {
        closeDescriptor(pair.inside)
        closeDescriptor(pair.outside)
        pairs[pair.inside] = nil
        owners[pair.inside] = nil
        owners[pair.outside] = nil
    }
}
