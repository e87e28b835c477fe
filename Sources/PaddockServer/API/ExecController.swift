import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import PaddockAPI
import PaddockCore
import PaddockSandbox
import PaddockServices
import Synchronization
import Tracing

/// Runs commands in a session.
///
/// - `POST /v1/sessions/{id}/exec` streams NDJSON events (`started`, `stdout`/`stderr` base64, `exit`):
///   simple to use from curl or any HTTP client. A client that disconnects kills the command.
/// - `GET /v1/sessions/{id}/exec/ws` upgrades to a WebSocket for interactive use: the first client text
///   message is the `ExecBody`; then binary client messages are stdin and text messages are controls
///   (`close_stdin`, `signal`, `resize`); the server sends binary output (first byte 1 = stdout, 2 = stderr)
///   and text events (`started`, `exit`, `error`).
struct ExecController {
    let sessions: SessionService

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.post(":id/exec", use: exec)
        group.ws(":id/exec/ws") { _, context in
            _ = try context.sessionID()
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, wsContext in
            // The exec's spans belong to the upgrade request's trace, though its span ended with the 101.
            let context = wsContext.requestContext
            try await InstrumentationContext.$current.withValue(context.trace ?? InstrumentationContext.current) {
                try await handleWebSocket(inbound: inbound, outbound: outbound, context: context)
            }
        }
    }

    @Sendable func exec(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        let id = try context.sessionID()
        let body = try await request.decode(as: ExecBody.self, context: context)
        let timeout = try Self.timeout(body)
        var command = try body.command()
        command.stdin = false
        let handle = try await sessions.exec(id, command, by: try context.caller())
        let encoder = APICoding.encoder()
        let responseBody = ResponseBody { writer in
            do {
                func emit(_ event: ExecEventBody) async throws {
                    var line = try encoder.encode(event)
                    line.append(0x0A)
                    try await writer.write(ByteBuffer(bytes: line))
                }
                try await Self.pump(handle: handle, timeout: timeout, emit: emit) { stream, bytes in
                    // Base64 in a JSON line is this API's documented format.
                    try await emit(
                        ExecEventBody(
                            type: stream == .stdout ? .stdout : .stderr, data: Data(bytes).base64EncodedString()))
                }
            } catch {
                await handle.cancel()
                // The client may be gone; if not, tell it why the stream ends.
                let e = ErrorMiddleware<PaddockRequestContext>.classify(error)
                if var line = try? encoder.encode(
                    ExecEventBody(type: .error, error: .init(code: e.code.rawValue, message: e.message)))
                {
                    line.append(0x0A)
                    try? await writer.write(ByteBuffer(bytes: line))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: responseBody)
    }

    /// The exec's `timeout`, bounded like every duration; the message names the field.
    static func timeout(_ body: ExecBody) throws(PaddockError) -> Duration? {
        guard let text = body.timeout else { return nil }
        do throws(PaddockError) { return try DurationText.parse(text) } catch {
            throw .invalidArgument("timeout: \(error.message)")
        }
    }

    /// Forwards a command's events until it exits; enforces the timeout by killing the process group. Output goes
    /// to `output` as the bytes the command wrote, so each front end frames it its own way.
    static func pump(
        handle: any ExecHandle, timeout: Duration?, emit: (ExecEventBody) async throws -> Void,
        output: (ExecStream, [UInt8]) async throws -> Void
    ) async throws {
        let timedOut = Flag()
        let killer = timeout.map { limit in
            Task {
                try await Task.sleep(for: limit)
                timedOut.set()
                try await handle.signal(9)
            }
        }
        defer { killer?.cancel() }
        for try await event in handle.events {
            switch event {
            case .started(let pid): try await emit(ExecEventBody(type: .started, pid: pid))
            case .stdout(let bytes): try await output(.stdout, bytes)
            case .stderr(let bytes): try await output(.stderr, bytes)
            case .exited(let status):
                // Like timeout(1): a command killed at its deadline exits 124.
                let expired = timedOut.isSet
                try await emit(
                    ExecEventBody(
                        type: .exit, code: expired ? 124 : status.code, signal: status.signal,
                        oomKilled: status.outOfMemory, timedOut: expired))
            }
        }
    }

    func handleWebSocket(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, context: PaddockRequestContext
    ) async throws {
        let encoder = APICoding.encoder()
        func send(_ event: ExecEventBody) async throws {
            try await outbound.write(.text(String(decoding: try encoder.encode(event), as: UTF8.self)))
        }
        var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
        let handle: any ExecHandle
        let timeout: Duration?
        do {
            let id = try context.sessionID()
            guard case .text(let first) = try await messages.next() else {
                throw PaddockError.invalidArgument("the first WebSocket message must be the exec request as JSON text")
            }
            let body = try APIRequestDecoder.decode(ExecBody.self, from: Data(first.utf8), what: "the exec request")
            timeout = try Self.timeout(body)
            handle = try await sessions.exec(id, try body.command(), by: try context.caller())
        } catch {
            let e = ErrorMiddleware<PaddockRequestContext>.classify(error)
            try await send(ExecEventBody(type: .error, error: .init(code: e.code.rawValue, message: e.message)))
            return
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            // Command -> client. Closing the socket at the end also ends the read loop below.
            group.addTask {
                do {
                    try await Self.pump(handle: handle, timeout: timeout, emit: send) { stream, bytes in
                        var buffer = ByteBuffer()
                        buffer.reserveCapacity(bytes.count + 1)
                        buffer.writeInteger(stream.rawValue)
                        buffer.writeBytes(bytes)
                        try await outbound.write(.binary(buffer))
                    }
                } catch {
                    let e = ErrorMiddleware<PaddockRequestContext>.classify(error)
                    try? await send(
                        ExecEventBody(type: .error, error: .init(code: e.code.rawValue, message: e.message)))
                }
                try? await outbound.close(.normalClosure, reason: nil)
            }
            // Client -> command: stdin and controls, until the socket closes: the client left, or the output
            // side closed it after the exit event.
            do {
                while let message = try await messages.next() {
                    // A control the command can no longer take — it has exited; the CLI sends close_stdin at the
                    // end of its input, which often comes after a short command's exit — is dropped. It is not
                    // a reason to stop reading: cancelling the command here cut its stream while the exit
                    // event was still on its way to the client, which then saw no exit status.
                    do { try await Self.forward(message, to: handle) } catch {
                        context.logger.debug(
                            "a client message the command could not take was dropped",
                            metadata: ["error": "\(error)"])
                    }
                }
            } catch {
                // A broken socket: the client is gone.
            }
            // Either the command ended (the output side closed the socket) and this is a no-op, or the client
            // left first and the command is killed rather than left running unattended.
            await handle.cancel()
            try await group.next()
        }
        try? await outbound.close(.normalClosure, reason: nil)
    }
}

extension ExecController {
    /// Hands one client message to the command: binary is stdin, text is a control.
    static func forward(_ message: WebSocketMessage, to handle: any ExecHandle) async throws {
        switch message {
        case .binary(let buffer): try await handle.sendStdin(Array(buffer.readableBytesView))
        case .text(let text):
            // A control this server does not know (a newer client) is an error for the caller to log, not a reason
            // to end the command.
            let control = try APICoding.decoder().decode(ExecControlBody.self, from: Data(text.utf8))
            switch control.type {
            case .closeStdin: try await handle.closeStdin()
            case .signal: try await handle.signal(control.signal ?? 15)
            case .resize:
                if let rows = control.rows, let cols = control.cols {
                    try await handle.resize(.init(rows: rows, cols: cols))
                }
            }
        }
    }
}

/// A one-way flag shared between the timeout task and the event loop.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
