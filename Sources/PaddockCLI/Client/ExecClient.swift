import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import PaddockAPI
import PaddockCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where an exec's input comes from and its output goes: this process's terminal for `paddock exec`; tests
/// run many execs in one process, each with its own.
struct ExecStreams: Sendable {
    /// Input chunks; an empty chunk is the end of input.
    var input: @Sendable () -> AsyncStream<[UInt8]>
    /// Command output: stream 1 is stdout, 2 stderr.
    var output: @Sendable (_ stream: UInt8, _ bytes: UnsafeRawBufferPointer) -> Void
    /// Paddock's own notes about how the command ended (killed at its timeout, out of memory).
    var notice: @Sendable (String) -> Void
    /// Whether Ctrl-C, SIGTERM, SIGHUP and window changes reach the command (signal handling is process-wide).
    var forwardsSignals: Bool

    static let terminal = ExecStreams(
        input: { StdinReader.chunks() },
        output: { stream, bytes in Terminal.write(stream == 2 ? STDERR_FILENO : STDOUT_FILENO, bytes) },
        notice: { FileHandle.standardError.write(Data("paddock: \($0)\n".utf8)) },
        forwardsSignals: true)
}

/// Runs a command in a session over the exec WebSocket, wired to this process's terminal: output streams
/// live, stdin is forwarded, Ctrl-C interrupts the remote command, and with `tty` the local terminal is put in
/// raw mode and its size follows the window.
struct ExecClient {
    let client: APIClient

    /// Returns the command's exit code (128 + signal for a signal death, 124 on timeout, 127 not found).
    func run(session: String, body: ExecBody, forwardStdin: Bool, streams: ExecStreams = .terminal) async throws
        -> Int32
    {
        var body = body
        let tty = body.tty != nil
        body.stdin = forwardStdin || tty
        let request = String(decoding: try APICoding.encoder().encode(body), as: UTF8.self)
        let sendStdin = body.stdin == true
        let result = Mutex<(code: Int32?, error: ErrorBody.Detail?)>((nil, nil))
        let upgraded = Mutex(false)
        let rawSettings = tty ? Terminal.makeRaw() : nil
        defer { Terminal.restore(rawSettings) }
        var logger = Logger(label: "paddock.exec")
        logger.logLevel = .critical
        var configuration = WebSocketClientConfiguration()
        configuration.additionalHeaders[.authorization] = "Bearer \(client.token)"
        configuration.maxFrameSize = 1 << 20

        let url = "\(client.webSocketBase)/v1/sessions/\(session)/exec/ws"
        do {
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) {
                inbound, outbound, _ in
                upgraded.withLock { $0 = true }
                try await outbound.write(.text(request))
                let signals =
                    streams.forwardsSignals
                    ? SignalForwarder(tty: tty) { control in
                        let text = String(
                            decoding: (try? APICoding.encoder().encode(control)) ?? Data(), as: UTF8.self)
                        Task { try? await outbound.write(.text(text)) }
                    } : nil
                defer { signals?.stop() }
                let stdinTask: Task<Void, Never>? =
                    sendStdin
                    ? Task.detached {
                        for await chunk in streams.input() {
                            if chunk.isEmpty {
                                let close = String(
                                    decoding: (try? APICoding.encoder().encode(ExecControlBody(type: .closeStdin)))
                                        ?? Data(), as: UTF8.self)
                                try? await outbound.write(.text(close))
                                return
                            }
                            try? await outbound.write(.binary(ByteBuffer(bytes: chunk)))
                        }
                    } : nil
                defer { stdinTask?.cancel() }
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    switch message {
                    case .binary(var buffer):
                        guard let stream = buffer.readInteger(as: UInt8.self) else { continue }
                        buffer.withUnsafeReadableBytes { streams.output(stream == 2 ? 2 : 1, $0) }
                    case .text(let text):
                        guard let event = try? APICoding.decoder().decode(ExecEventBody.self, from: Data(text.utf8))
                        else { continue }
                        switch event.type {
                        case .exit:
                            result.withLock { $0.code = event.code ?? 0 }
                            if event.oomKilled == true {
                                streams.notice("the command was killed: the sandbox ran out of memory (raise --memory)")
                            } else if event.timedOut == true {
                                streams.notice("the command was killed: it ran past its --timeout")
                            }
                        case .error: result.withLock { $0.error = event.error }
                        default: break
                        }
                    }
                }
            }
        } catch {
            // A refused upgrade (no such session, no permission, bad token) fails the connect without the server's
            // message; the same route over plain HTTP answers with it.
            if !upgraded.withLock({ $0 }) { _ = try await client.raw(.GET, "/v1/sessions/\(session)/exec/ws") }
            throw PaddockError.unavailable("lost the connection to the server while the command ran", underlying: error)
        }
        let (code, error) = result.withLock { $0 }
        if let error {
            let e = PaddockError(PaddockError.Code(rawValue: error.code), error.message)
            // Like a shell: a command that does not exist exits 127.
            if e.code == .notFound && error.message.contains("not found") && error.message.contains("command") {
                streams.notice(error.message)
                return 127
            }
            throw e
        }
        guard let code else {
            throw PaddockError.unavailable(
                "the server closed the command's stream without its exit status; the command may have run: "
                    + "`paddock audit show \(session)` shows whether it exited")
        }
        return code
    }
}

/// Reads stdin on a thread of its own (a blocking read must not hold a concurrency thread); an empty chunk
/// marks end of input.
enum StdinReader {
    static func chunks() -> AsyncStream<[UInt8]> {
        AsyncStream { continuation in
            let thread = Thread {
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 {
                        continuation.yield([])
                        continuation.finish()
                        return
                    }
                    continuation.yield(Array(buffer[0..<n]))
                }
            }
            thread.start()
        }
    }
}

/// Forwards Ctrl-C (SIGINT), SIGTERM and SIGHUP to the remote command as signals, and window size changes
/// (SIGWINCH) as resizes. In tty mode Ctrl-C is a byte on stdin and reaches the remote terminal that way.
///
/// The handlers are installed with `sigaction` before `init` returns, and only write the signal's number to a
/// pipe that a thread of its own reads. Dispatch signal sources register asynchronously: a Ctrl-C that came
/// right after the command's first output could land after the signal was set to be ignored but before the
/// source listened, and was lost (the command ran on). One forwarder at a time per process (the CLI's exec).
final class SignalForwarder: @unchecked Sendable {
    /// The pipe's write end, read by the handler (which can capture nothing).
    private nonisolated(unsafe) static var pipeWrite: Int32 = -1
    private let signals: [Int32]
    private let pipeRead: Int32

    init(tty: Bool, send: @escaping @Sendable (ExecControlBody) -> Void) {
        var signals: [Int32] = [SIGTERM, SIGHUP]
        signals.append(tty ? SIGWINCH : SIGINT)
        self.signals = signals
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            pipeRead = -1
            return
        }
        pipeRead = fds[0]
        Self.pipeWrite = fds[1]
        for sig in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                var byte = UInt8(truncatingIfNeeded: sig)
                _ = write(SignalForwarder.pipeWrite, &byte, 1)
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(sig, &action, nil)
        }
        let reader = fds[0]
        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                let n = read(reader, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                guard n == 1 else {
                    close(reader)
                    return
                }
                let sig = Int32(byte)
                if sig == SIGWINCH {
                    let size = Terminal.size()
                    send(ExecControlBody(type: .resize, rows: size.rows, cols: size.cols))
                } else {
                    send(ExecControlBody(type: .signal, signal: sig))
                }
            }
        }
        thread.start()
    }

    /// Puts the default handlers back and ends the reader (closing the write end wakes it).
    func stop() {
        guard pipeRead >= 0 else { return }
        for sig in signals { Glibc.signal(sig, SIG_DFL) }
        close(Self.pipeWrite)
        Self.pipeWrite = -1
    }
}
