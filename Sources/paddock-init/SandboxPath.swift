import Glibc

/// Paths as the host sends them: absolute, without NUL bytes.
enum SandboxPath {
    /// `path` without trailing slashes, or `invalid_argument`.
    static func validate(_ path: String) throws(InitFailure) -> String {
        guard path.hasPrefix("/") else {
            throw InitFailure(.invalidArgument, errno: EINVAL, "path '\(path)' is not absolute")
        }
        guard !path.utf8.contains(0) else {
            throw InitFailure(.invalidArgument, errno: EINVAL, "path '\(path.prefix(64))' contains a NUL byte")
        }
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }

    /// The directory holding `path` ("/" for top-level entries and for "/" itself).
    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// The last component of `path` ("/" for the root).
    static func name(_ path: String) -> String {
        guard path != "/", let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory == "/" ? "/" + name : directory + "/" + name
    }
}
