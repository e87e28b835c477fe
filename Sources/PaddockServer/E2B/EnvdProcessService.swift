import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockInitProtocol
import PaddockSandbox
import PaddockServices

/// envd's `process.Process` service (Connect, JSON codec) over `SessionService.exec`.
///
/// A command started here is tied to its stream: when the client goes away (or cancels the call) the
/// command is killed, and a `Connect-Timeout-Ms` deadline kills it and ends the stream with
/// `deadline_exceeded`. Other calls address a command by pid (or tag) while its stream is open.
struct EnvdProcessService {
    let sessions: SessionService
    let table: EnvdProcessTable
    let keepalive: Duration

    static let keepaliveMessage: [UInt8] = (try? EnvdProcess.Event.keepalive.json()) ?? Array("{}".utf8)

    func handle(method: String, request: Request, target: E2BSandboxTarget) async throws -> Response {
        switch method {
        case "Start": return try await start(request, target)
        case "Connect": return try await connect(request, target)
        case "List": return try await list(request, target)
        case "SendInput": return try await sendInput(request, target)
        case "SendSignal": return try await sendSignal(request, target)
        case "CloseStdin": return try await closeStdin(request, target)
        case "Update": return try await update(request, target)
        case "StreamInput": return await streamInput(request, target)
        default:
            throw ConnectError(.unimplemented, "process.Process/\(method) is not supported by this server")
        }
    }

    // MARK: Streams

    func start(_ request: Request, _ target: E2BSandboxTarget) async throws -> Response {
        let message = try ProtoJSON.decode(
            EnvdProcess.StartRequest.self, from: try await ConnectStream.requestMessage(request))
        guard !message.process.cmd.isEmpty else {
            throw ConnectError(.invalidArgument, "process.cmd is empty; give the program to run")
        }
        let tty = message.pty.map { pty in
            TerminalSize(
                rows: UInt16(clamping: max(pty.size?.rows ?? 24, 1)),
                cols: UInt16(clamping: max(pty.size?.cols ?? 80, 1))
            )
        }
        let command = SessionCommand(
            [message.process.cmd] + (message.process.args ?? []), env: message.process.envs ?? [:],
            cwd: message.process.cwd.flatMap { $0.isEmpty ? nil : $0 } ?? target.user.home,
            user: target.user, tty: tty, stdin: (message.stdin ?? false) || tty != nil,
            // envd's processes outlive the connection that started them: a client that leaves (or an SDK that
            // drops a background command's stream) leaves the process running, found again by pid or tag.
            detached: true, tag: message.tag)
        let handle = try await sessions.exec(target.session.id, command, by: target.caller)
        return stream(
            handle, request: request, target: target, config: message.process, tag: message.tag, pty: tty != nil)
    }

    func connect(_ request: Request, _ target: E2BSandboxTarget) async throws -> Response {
        let message = try ProtoJSON.decode(
            EnvdProcess.ConnectRequest.self, from: try await ConnectStream.requestMessage(request))
        let pid = try await resolve(message.process, target)
        let previous = await table.entry(.init(session: target.session.id, pid: pid))
        let handle: any ExecHandle
        do { handle = try await sessions.attach(target.session.id, pid: pid, by: target.caller) } catch let e
            as PaddockError
            where e.code == .notFound
        {
            throw ConnectError(.notFound, "process with pid \(pid) not found")
        }
        let processes: [WireProcessInfo]
        do { processes = try await sessions.processes(target.session.id, by: target.caller) } catch {
            // Without the process's description the stream cannot be described either: let it go.
            await handle.cancel()
            throw error
        }
        let info = processes.first { $0.pid == pid }
        let config =
            previous?.config
            ?? EnvdProcess.Config(
                cmd: info?.argv.first ?? "", args: Array((info?.argv ?? []).dropFirst()), envs: [:], cwd: info?.cwd)
        return stream(
            handle, request: request, target: target, config: config, tag: previous?.tag ?? info?.tag,
            pty: info?.tty ?? false)
    }

    private func stream(
        _ handle: any ExecHandle, request: Request, target: E2BSandboxTarget, config: EnvdProcess.Config,
        tag: String?, pty: Bool
    ) -> Response {
        let table = self.table
        let sessions = self.sessions
        let session = target.session.id
        let interval =
            request.header("keepalive-ping-interval").flatMap(Int64.init).map { Duration.seconds(max($0, 1)) }
            .map { min($0, keepalive) } ?? keepalive
        return ConnectStream.response(
            keepaliveMessage: Self.keepaliveMessage, keepalive: interval, deadline: ConnectStream.timeout(request),
            onDeadline: { try? await handle.signal(9) },
            onClientGone: { await handle.cancel() }, channel: target.channel
        ) { channel in
            let token = UUID()
            var key: EnvdProcessTable.Key?
            do {
                for try await event in handle.events {
                    let out: EnvdProcess.Event
                    switch event {
                    case .started(let pid):
                        key = .init(session: session, pid: pid)
                        if let key {
                            await table.insert(key, .init(handle: handle, config: config, tag: tag, token: token))
                        }
                        out = .start(pid: pid)
                    case .stdout(let bytes): out = pty ? .pty(bytes) : .stdout(bytes)
                    case .stderr(let bytes): out = .stderr(bytes)
                    case .exited(let status):
                        // A sandbox being killed stops its commands with a signal first; E2B's SDKs say "killed"
                        // only for a dropped stream whose sandbox is gone, so that is what the client gets.
                        if status.signal != nil, await !Self.isRunning(session, sessions) {
                            throw ConnectStreamAborted(reason: "sandbox \(session) stopped under its command")
                        }
                        out = .end(exitCode: status.code, status: Self.status(status))
                    }
                    await channel.send(.message(try out.json()))
                }
            } catch {
                if let key { await table.remove(key, token: token) }
                if await !Self.isRunning(session, sessions) {
                    throw ConnectStreamAborted(reason: "sandbox \(session) stopped while streaming: \(error)")
                }
                throw error
            }
            if let key { await table.remove(key, token: token) }
        }
    }

    /// Whether the session is still running, for telling a command's failure from its sandbox's end; a store
    /// that cannot answer counts as running, so the error is reported as it is.
    static func isRunning(_ id: SessionID, _ sessions: SessionService) async -> Bool {
        do { return try await sessions.get(id).state == .running } catch let e as PaddockError
            where e.code == .notFound
        {
            return false
        } catch {
            return true
        }
    }

    /// Like Go's `ProcessState.String()`, which envd reports.
    static func status(_ status: ExitStatus) -> String {
        guard let signal = status.signal else { return "exit status \(status.code)" }
        let names: [Int32: String] = [9: "killed", 15: "terminated", 2: "interrupt", 1: "hangup", 6: "aborted"]
        return "signal: \(names[signal] ?? String(signal))"
    }

    // MARK: Unary calls

    func list(_ request: Request, _ target: E2BSandboxTarget) async throws -> Response {
        _ = try await ConnectStream.requestMessage(request)
        let known = await table.entries(of: target.session.id)
        let processes = try await sessions.processes(target.session.id, by: target.caller).map { info in
            EnvdProcess.Info(
                config: known[info.pid]?.config
                    ?? .init(cmd: info.argv.first ?? "", args: Array(info.argv.dropFirst()), envs: [:], cwd: info.cwd),
                pid: UInt32(bitPattern: info.pid), tag: known[info.pid]?.tag ?? info.tag)
        }
        return try ConnectStream.unary(EnvdProcess.ListResponse(processes: processes))
    }

    func sendInput(_ request: Request, _ target: E2BSandboxTarget) async throws -> Response {
        let message = try ProtoJSON.decode(
            EnvdProcess.SendInputRequest.self, from: try await ConnectStream.requestMessage(request))
        let handle = try await streamingHandle(message.process, target)
        try await handle.sendStdin(message.input?.bytes ?? [])
        return try ConnectStream.unary(EnvdProcess.Empty())
    }

    func closeStdin(_ request: Request, _ target: E2BSandboxTarget) async throws -> Response {
        let message = try ProtoJSON.decode(
            EnvdProcess.CloseStdinRequest.self, from: try await ConnectStream.requestMessage(request))
        try await streamingHandle(message.process, target).closeStdin()
        return try ConnectStream.unary(EnvdProcess.Empty())
    }

    func update(_ request: Request, _ target: E2BSandboxTarget) async throws -> Response {
        let message = try ProtoJSON.decode(
            EnvdProcess.UpdateRequest.self, from: try await ConnectStream.requestMessage(request))
        let handle = try await streamingHandle(message.process, target)
        if let size = message.pty?.size, let rows = size.rows, let cols = size.cols, rows > 0, cols > 0 {
            try await handle.resize(.init(rows: UInt16(clamping: rows), cols: UInt16(clamping: cols)))
        }
        return try ConnectStream.unary(EnvdProcess.Empty())
    }

    func sendSignal(_ request: Request, _ target: E2BSandboxTarget) async throws -> Response {
        let message = try ProtoJSON.decode(
            EnvdProcess.SendSignalRequest.self, from: try await ConnectStream.requestMessage(request))
        let pid = try await resolve(message.process, target)
        let number = Int32(message.signal?.number ?? 0)
        guard number == 9 || number == 15 else {
            throw ConnectError(.invalidArgument, "signal must be SIGNAL_SIGKILL or SIGNAL_SIGTERM")
        }
        do {
            try await sessions.signal(target.session.id, pid: pid, signal: number, by: target.caller)
        } catch let e as PaddockError
            where e.code == .notFound
        {
            throw ConnectError(.notFound, "process with pid \(pid) not found")
        }
        return try ConnectStream.unary(EnvdProcess.Empty())
    }

    /// Client streaming: a start message naming the process, then input messages, all written to the
    /// command's stdin (or terminal) as they arrive. Answered with one empty message, or the error in the
    /// end-of-stream envelope.
    func streamInput(_ request: Request, _ target: E2BSandboxTarget) async -> Response {
        var end = ConnectError.successEndStream
        var failed = false
        do {
            var decoder = ConnectEnvelopeDecoder()
            var handle: (any ExecHandle)?
            reading: for try await buffer in request.body {
                decoder.append(buffer.readableBytesView)
                while let envelope = try decoder.next() {
                    if envelope.isEndStream { break reading }
                    let message = try ProtoJSON.decode(EnvdProcess.StreamInputRequest.self, from: envelope.payload)
                    if let start = message.start {
                        handle = try await streamingHandle(start.process, target)
                    } else if let data = message.data {
                        guard let handle else {
                            throw ConnectError(.invalidArgument, "the input stream must start with a start message")
                        }
                        try await handle.sendStdin(data.input?.bytes ?? [])
                    }
                }
            }
        } catch {
            end = ConnectStream.endStream(for: error)
            failed = true
        }
        var bytes: [UInt8] = []
        if !failed {
            bytes += ConnectEnvelope(payload: Array("{}".utf8)).encoded()
        }
        bytes += end.encoded()
        return Response(
            status: .ok, headers: [.contentType: "application/connect+json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: Selectors

    private func resolve(_ selector: EnvdProcess.Selector?, _ target: E2BSandboxTarget) async throws -> Int32 {
        if let pid = selector?.pid { return Int32(bitPattern: pid) }
        if let tag = selector?.tag {
            if let pid = await table.pid(session: target.session.id, tag: tag) { return pid }
            let processes = try await sessions.processes(target.session.id, by: target.caller)
            if let info = processes.last(where: { $0.tag == tag }) {
                return info.pid
            }
            throw ConnectError(.notFound, "process with tag \(tag) not found")
        }
        throw ConnectError(.invalidArgument, "process selector is empty; give a pid or a tag")
    }

    /// The stream that owns a command's stdin and terminal.
    private func streamingHandle(_ selector: EnvdProcess.Selector?, _ target: E2BSandboxTarget) async throws
        -> any ExecHandle
    {
        let pid = try await resolve(selector, target)
        guard let entry = await table.entry(.init(session: target.session.id, pid: pid)) else {
            throw ConnectError(.notFound, "process with pid \(pid) not found (or not streaming through this server)")
        }
        return entry.handle
    }
}

extension SandboxUser {
    /// Where E2B resolves relative paths and starts commands: the sandbox user's home for both users,
    /// because the host template's `/root` belongs to the host and is closed to the sandbox's root.
    var home: String { SandboxLayout.home }
}
