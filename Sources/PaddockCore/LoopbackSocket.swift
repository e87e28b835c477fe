#if canImport(Glibc)
    import Glibc

    /// A TCP connection to a port on 127.0.0.1, as a plain blocking socket: for the benchmark's and the tests'
    /// clients that must see exactly the bytes a server sends, with no client library in between.
    public enum LoopbackSocket {
        /// The connected socket (the caller closes it), or -1 with errno set.
        public static func connect(port: Int) -> Int32 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return -1 }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                let code = errno
                close(fd)
                errno = code
                return -1
            }
            return fd
        }
    }
#endif
