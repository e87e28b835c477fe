/// How `waitpid` says a child ended.
struct ExitStatus: Equatable {
    /// The exit code; 128 + signal when killed by a signal (the shell convention).
    let code: Int32
    /// The terminating signal, or 0.
    let signal: Int32

    init(code: Int32, signal: Int32) {
        self.code = code
        self.signal = signal
    }

    /// Decodes a wait status (Glibc's W* macros are not exported to Swift).
    init(waitStatus status: Int32) {
        let low = status & 0x7f
        if low == 0 {
            self.init(code: (status >> 8) & 0xff, signal: 0)
        } else {
            self.init(code: 128 + low, signal: low)
        }
    }
}
