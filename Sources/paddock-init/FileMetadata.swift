import CPaddockShim
import Glibc
import PaddockInitProtocol

/// E2B's file metadata: `user.e2b.<key>` extended attributes, which programs in the sandbox can set and read
/// too (`os.setxattr`). A file system without user xattrs has no metadata to read and refuses to store any.
enum FileMetadata {
    static let prefix = "user.e2b."
    /// Linux's limit on one attribute value (XATTR_SIZE_MAX).
    static let maxValueBytes = 65536

    /// The file's metadata, keys without the prefix; empty when it has none or they cannot be listed.
    static func read(_ path: String) -> [String: String] {
        let size = pk_llistxattr(path, nil, 0)
        guard size > 0 else { return [:] }
        var names = [CChar](repeating: 0, count: size)
        let count = pk_llistxattr(path, &names, size)
        guard count > 0 else { return [:] }
        var out: [String: String] = [:]
        for raw in names[0..<count].split(separator: 0) {
            let name = String(decoding: raw.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard name.hasPrefix(prefix), let value = value(path, name) else { continue }
            out[String(name.dropFirst(prefix.count))] = value
        }
        return out
    }

    private static func value(_ path: String, _ name: String) -> String? {
        let size = pk_lgetxattr(path, name, nil, 0)
        guard size >= 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: max(size, 1))
        let count = pk_lgetxattr(path, name, &buffer, buffer.count)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Replaces every `user.e2b.*` attribute of `path` with `metadata`, as `user`.
    static func replace(_ path: String, with metadata: [String: String], as user: WireUser) throws(InitFailure)
        -> WireMessage
    {
        let path = try SandboxPath.validate(path)
        try UserIdentity.perform(as: user) { () throws(InitFailure) in
            for key in read(path).keys where metadata[key] == nil {
                guard pk_lremovexattr(path, prefix + key) == 0 || errno == ENODATA else {
                    throw InitFailure(errno: errno, "cannot clear metadata '\(key)' of '\(path)'")
                }
            }
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
                let bytes = Array(value.utf8)
                guard !key.isEmpty, bytes.count <= maxValueBytes else {
                    throw InitFailure(.invalidArgument, errno: EINVAL, "metadata '\(key)' is empty or too long")
                }
                let rc = bytes.withUnsafeBytes { pk_lsetxattr(path, prefix + key, $0.baseAddress, bytes.count) }
                guard rc == 0 else {
                    let code = errno
                    let why = code == ENOTSUP ? " (the file system keeps no user attributes)" : ""
                    throw InitFailure(errno: code, "cannot store metadata '\(key)' on '\(path)'\(why)")
                }
            }
        }
        return .ok
    }
}
