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
