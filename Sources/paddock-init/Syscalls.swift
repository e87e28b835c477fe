import Glibc

/// Runs `body` again while it fails with EINTR. Every blocking-capable call in paddock-init goes through
/// here; signals are delivered through a signalfd, so EINTR is rare, but a stopped-and-continued init
/// (SIGSTOP/SIGCONT from a debugger) can still interrupt a call.
@inline(__always)
func retryingEINTR<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

/// The text for an errno value.
func errnoDescription(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

/// Writes one line to stderr. paddock-init speaks only on errors: its stderr is the sandbox's log.
func diagnose(_ message: String) {
    let line = Array("paddock-init: \(message)\n".utf8)
    line.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = retryingEINTR { write(STDERR_FILENO, raw.baseAddress.map { $0 + offset }, raw.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }
}

/// Closes a descriptor. On Linux the descriptor is released even when close reports EINTR, so it is
/// never retried (a retry could close a descriptor another part of the loop just received).
func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}

/// Adds O_NONBLOCK to a descriptor's status flags.
func setNonBlocking(_ fd: Int32) -> Bool {
    let flags = fcntl(fd, F_GETFL)
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0
}

/// Milliseconds on the monotonic clock.
func monotonicMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// `lstat`/`stat` results, or the errno.
func fileStatus(_ path: String, followSymlinks: Bool) -> Result<stat, SystemErrno> {
    var info = stat()
    let rc = followSymlinks ? stat(path, &info) : lstat(path, &info)
    return rc == 0 ? .success(info) : .failure(SystemErrno(errno))
}

/// An errno as a Swift error, for `Result`s of plain syscalls.
struct SystemErrno: Error, Equatable {
    let code: Int32
    init(_ code: Int32) { self.code = code }
}

extension stat {
    var fileType: UInt32 { st_mode & S_IFMT }
    var isDirectory: Bool { fileType == S_IFDIR }
    var isRegularFile: Bool { fileType == S_IFREG }
    var isSymlink: Bool { fileType == S_IFLNK }
}
