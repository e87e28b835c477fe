#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A unix socket's address holds at most 107 bytes of path (`sun_path`), and a sandbox's sockets live under the
/// data directory, whose path the operator chooses (tests put their own labels in it): a long one pushed
/// `<data>/gvisor/sessions/<id>/run/init.sock` past the limit, and the server could neither reach the sandbox's
/// init nor listen for its egress. A socket whose path is too long is reached through a descriptor of its
/// directory instead (`/proc/self/fd/<n>/<name>`, which the kernel resolves like any path), so what works does
/// not depend on how long the data directory's path is.
public enum UnixSocketPath {
    /// The longest path `sun_path` takes (it needs a terminating NUL).
    public static let maximumBytes = 107

    /// Runs `body` with a path to the socket at `path` that fits in a socket address: `path` itself when it
    /// fits, else one through a descriptor of its directory, open only while `body` runs (connect or bind inside
    /// it, not later).
    public static func withFittingPath<T>(_ path: String, _ body: (String) async throws -> T) async throws -> T {
        let (reachable, directory) = try fitting(path)
        defer { if directory >= 0 { close(directory) } }
        return try await body(reachable)
    }

    /// The same, for blocking code (run off the cooperative pool).
    public static func withFittingPath<T>(_ path: String, _ body: (String) throws -> T) throws -> T {
        let (reachable, directory) = try fitting(path)
        defer { if directory >= 0 { close(directory) } }
        return try body(reachable)
    }

    /// The path to use, and the directory descriptor to close after (-1 when `path` fits as it is).
    private static func fitting(_ path: String) throws(PaddockError) -> (String, Int32) {
        guard path.utf8.count > maximumBytes else { return (path, -1) }
        let (directory, name) = split(path)
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw .unavailable(
                "cannot open \(directory), which holds the socket \(name): \(reason); is the sandbox still there?")
        }
        let fitting = "/proc/self/fd/\(fd)/\(name)"
        guard fitting.utf8.count <= maximumBytes else {
            close(fd)
            throw .invalidArgument("the socket name \(name) is too long for a unix socket")
        }
        return (fitting, fd)
    }

    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}
