import CPaddockShim
import Glibc
import PaddockInitProtocol

/// Runs file operations with the requesting user's permissions.
enum UserIdentity {
    /// Runs `body` with `user` as the filesystem uid/gid when init is root, so permission checks are the
    /// user's and anything created is owned by them. setfsuid changes only filesystem checks of this one
    /// thread, so nothing else in init ever runs with a different identity, and switching back needs no
    /// saved-set-uid juggling. A non-root init (tests) acts as itself.
    static func perform<T>(as user: WireUser, _ body: () throws(InitFailure) -> T) throws(InitFailure) -> T {
        let uid = geteuid()
        let gid = getegid()
        guard uid == 0, user.uid != uid || user.gid != gid else { return try body() }
        guard pk_set_fs_identity(user.uid, user.gid) == 0 else {
            let code = errno
            _ = pk_set_fs_identity(uid, gid)
            throw InitFailure(errno: code, "cannot act as uid \(user.uid) gid \(user.gid)")
        }
        defer { _ = pk_set_fs_identity(uid, gid) }
        return try body()
    }
}

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
