import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The local terminal: raw mode for `--tty` sessions and its size, restored on exit.
enum Terminal {
    static var isInteractive: Bool { isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1 }

    static func size() -> (rows: UInt16, cols: UInt16) {
        var ws = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_row > 0 { return (ws.ws_row, ws.ws_col) }
        return (24, 80)
    }

    /// Puts stdin in raw mode; returns the settings to restore.
    static func makeRaw() -> termios? {
        var original = termios()
        guard tcgetattr(STDIN_FILENO, &original) == 0 else { return nil }
        var raw = original
        cfmakeraw(&raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        return original
    }

    static func restore(_ settings: termios?) {
        guard var s = settings else { return }
        tcsetattr(STDIN_FILENO, TCSANOW, &s)
    }

    /// Writes all bytes to a file descriptor, unbuffered (output must appear as it arrives).
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
