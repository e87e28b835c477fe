#if os(Linux)
    import CPaddockShim
    import Glibc
    import NIOCore
    import NIOPosix
    import PaddockCore
    import PaddockInitProtocol
    import PaddockSandbox

    extension UnixSocketInitTransport {
        /// Init connects to the port and passes the socket over the control socket (SCM_RIGHTS): from then on the
        /// host and the app talk over loopback inside the sandbox's network namespace, with no relay between.
        func handOff(port: UInt16) async throws -> (any SandboxConnection)? {
            let path = socketPath
            let received = try await NIOThreadPool.singleton.runIfActive {
                try Self.receiveDialledSocket(path, port: port)
            }
            guard let fd = received else { return nil }
            // A connection served on an event loop (`ConnectionAffinity`) gets its sandbox side on the same loop.
            var group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
            if ConnectionAffinity.executor != nil, let loop = MultiThreadedEventLoopGroup.currentEventLoop {
                group = loop
            }
            // On failure NIO has already taken the descriptor and closes it with the half-made channel.
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .withConnectedSocket(fd) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true))
                    }
                }
            return await SocketSandboxConnection.open(channel)
        }

        /// Asks init, on a connection of its own, to dial `port` and hand the socket over; the descriptor
        /// (close-on-exec). Blocking: run it off the event loops and the cooperative pool. Nil when init cannot:
        /// an older init closes without an answer, and a sandbox kernel that does not pass host descriptors
        /// (gVisor's) answers another failure; the caller then relays through init as before. Nothing listening
        /// on the port is `notFound`.
        static func receiveDialledSocket(_ path: String, port: UInt16) throws -> Int32? {
            try UnixSocketPath.withFittingPath(path) { try receiveDialledSocket(reachable: $0, port: port) }
        }

        private static func receiveDialledSocket(reachable path: String, port: UInt16) throws -> Int32? {
            let sock = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard sock >= 0 else { throw PaddockError.internal("cannot create a unix socket: \(Syscalls.errnoText())") }
            defer { Glibc.close(sock) }
            // A wedged init must not hold a pool thread for ever; a live one answers in microseconds.
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
            let connected = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    Syscalls.retrying { connect(sock, raw, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                }
            }
            guard connected == 0 else {
                throw PaddockError.unavailable(
                    "the sandbox is not running (its supervisor does not answer); destroy the session and create a new one"
                )
            }
            let request = WireMessage.dialHandoff(port: port).framed()
            let written = request.withUnsafeBytes { raw in
                Syscalls.retrying { Int32(send(sock, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))) }
            }
            guard written == request.count else {
                throw PaddockError.unavailable("the sandbox's supervisor closed the connection; is it still running?")
            }
            var decoder = FrameDecoder()
            var passed: Int32 = -1
            var buffer = [UInt8](repeating: 0, count: 512)
            var reply: WireMessage?
            while reply == nil {
                var fd: Int32 = -1
                let n = buffer.withUnsafeMutableBytes { pk_recv_with_fd(sock, $0.baseAddress, $0.count, &fd) }
                if fd >= 0 {
                    if passed >= 0 { Glibc.close(passed) }
                    passed = fd
                }
                if n < 0 && errno == EINTR { continue }
                if n < 0 {
                    if passed >= 0 { Glibc.close(passed) }
                    throw PaddockError.unavailable(
                        "the sandbox's supervisor did not answer a connection to port \(port) within 10 s")
                }
                if n == 0 { break }
                decoder.append(buffer[0..<n])
                if let payload = try decoder.next() { reply = try WireMessage(decoding: payload) }
            }
            switch reply {
            case .ok? where passed >= 0 && isStreamSocket(passed):
                return passed
            case .failure(let code, _, let message)? where code == WireErrorCode.notFound.rawValue:
                if passed >= 0 { Glibc.close(passed) }
                throw PaddockError.notFound(message)
            default:
                if passed >= 0 { Glibc.close(passed) }
                return nil
            }
        }

        /// What init passed must be a connected stream socket, not some other descriptor of the sandbox's.
        static func isStreamSocket(_ fd: Int32) -> Bool {
            var type: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 && type == Int32(SOCK_STREAM.rawValue)
        }
    }
#endif
