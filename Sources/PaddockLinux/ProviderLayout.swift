#if os(Linux)
import Glibc
import PaddockCore

/// Where the local provider keeps things under the data directory.
struct ProviderLayout: Sendable {
    let dataDirectory: String
    var sessions: String { "\(dataDirectory)/sessions" }
    var runtimeState: String { "\(dataDirectory)/runtime" }
    var templates: String { "\(dataDirectory)/templates" }
    var bin: String { "\(dataDirectory)/bin" }
    /// Cgroup parent of every sandbox. One fixed name so leaks are easy to find and count.
    let cgroupParent = "/paddock"

    func sessionDirectory(_ id: SessionID) -> String { "\(sessions)/\(id.rawValue)" }
    func socket(_ id: SessionID) -> String { "\(sessionDirectory(id))/run/init.sock" }

    /// Creates the directories. They are traversable (o+x) but not listable by others, because the runtime
    /// resolves bundle paths as the sandbox's unprivileged host uid.
    func prepare() throws(PaddockError) {
        try Syscalls.makeDirectory(dataDirectory, mode: 0o711)
        for d in [sessions, templates, bin] { try Syscalls.makeDirectory(d, mode: 0o711) }
        try Syscalls.makeDirectory(runtimeState, mode: 0o700)
        var dir = dataDirectory
        // Every ancestor must be traversable by the sandbox's mapped root for the runtime to reach the bundle.
        while let slash = dir.lastIndex(of: "/"), slash != dir.startIndex {
            dir = String(dir[..<slash])
            var st = stat()
            if fstatat(AT_FDCWD, dir, &st, 0) == 0, st.st_mode & 0o001 == 0 {
                throw .unavailable(
                    "\(dir) is not traversable by other users (mode \(String(st.st_mode & 0o777, radix: 8))); "
                        + "choose a --data-dir whose parents are, or chmod o+x \(dir)")
            }
        }
    }

    /// Copies paddock-init into the data directory (read-only, root-owned) so sandboxes bind-mount a file
    /// that a rebuild of the source tree never changes under them.
    func installInit(from source: String) throws(PaddockError) -> String {
        guard let bytes = Syscalls.readFile(source, limit: 256 << 20).map({ _ in () }) else {
            throw .unavailable("paddock-init was not found at \(source); build it (`swift build`) or pass --init-binary")
        }
        _ = bytes
        let fd = Syscalls.retrying { open(source, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw .unavailable("cannot read \(source): \(Syscalls.errnoText())") }
        defer { close(fd) }
        var content = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            content.append(contentsOf: buf[0..<n])
        }
        // Name by content so a new build never replaces the file under running sandboxes.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in content {
            hash ^= UInt64(b)
            hash = hash &* 0x100_0000_01b3
        }
        let target = "\(bin)/paddock-init-\(String(hash, radix: 16))"
        if !Syscalls.exists(target) { try Syscalls.writeFileAtomically(target, content, mode: 0o755) }
        return target
    }
}
#endif
