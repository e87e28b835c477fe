import PaddockCore
import PaddockInitProtocol

/// Talks to one sandbox's paddock-init: commands, processes, ports and files. Every provider's sandboxes run the
/// same init, so this is the one client for all of them; a provider only says how to reach it (`transport`).
/// Each operation opens its own connection, so a client is cheap to make and safe to share.
public struct InitClient: Sendable {
    let transport: any InitTransport
    let outOfMemoryKills: @Sendable () -> UInt64

    /// `outOfMemoryKills` counts the sandbox's OOM kills (its memory cgroup's), so a command killed by SIGKILL
    /// while the count rose is reported as out of memory. Providers that cannot tell leave it at zero.
    public init(transport: any InitTransport, outOfMemoryKills: @escaping @Sendable () -> UInt64 = { 0 }) {
        self.transport = transport
        self.outOfMemoryKills = outOfMemoryKills
    }

    /// Whether init answers; returns its pid as the sandbox sees it.
    public func hello() async throws -> Int32 {
        guard case .helloReply(_, let pid) = try await unary(.hello, "hello") else {
            throw PaddockError.internal("the sandbox answered hello with something else")
        }
        return pid
    }

    /// Starts a command; returns once it runs. A failure to start (command not found, bad cwd) is thrown here,
    /// not streamed.
    public func exec(_ request: ExecRequest) async throws -> any ExecHandle {
        guard !request.argv.isEmpty else {
            throw PaddockError.invalidArgument("no command given; pass the program and its arguments")
        }
        let env = request.env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let spawn = SpawnRequest(
            argv: request.argv, env: env, cwd: request.cwd, user: WireUser(request.user), tty: request.tty,
            stdin: request.stdin, detached: request.detached, tag: request.tag)
        return try await InitExecHandle.start(transport, .spawn(spawn), outOfMemoryKills: outOfMemoryKills)
    }

    /// Re-attaches to a detached command.
    public func attach(pid: Int32) async throws -> any ExecHandle {
        try await InitExecHandle.start(transport, .attach(pid: pid), outOfMemoryKills: outOfMemoryKills)
    }

    /// The commands init supervises.
    public func listProcesses() async throws -> [WireProcessInfo] {
        let reply = try await unary(.listProcesses, "listing processes")
        guard case .processes(let list) = reply else { throw PaddockError.internal("unexpected reply \(reply)") }
        return list
    }

    /// Signals a supervised command's process group without holding its stream.
    public func signalProcess(pid: Int32, signal: Int32) async throws {
        let reply = try await unary(.signalProcess(pid: pid, signal: signal), "signalling process \(pid)")
        guard case .ok = reply else { throw PaddockError.internal("unexpected reply \(reply)") }
    }

    /// Asks init to let go of every socket that reaches the host, before a checkpoint; it listens again on
    /// SIGUSR2. Refused while a command is attached or a port or file transfer is open.
    public func quiesce() async throws {
        let reply = try await unary(.quiesce, "preparing the sandbox for a checkpoint")
        guard case .ok = reply else { throw PaddockError.internal("unexpected reply \(reply)") }
    }

    /// A raw byte connection to `127.0.0.1:port` inside the sandbox; `notFound` when nothing listens.
    /// Where the transport can, init hands the connected socket over and the bytes flow without it.
    public func dial(port: UInt16) async throws -> any SandboxConnection {
        if let direct = try await transport.handOff(port: port) { return direct }
        return try await InitSandboxConnection.open(transport, port: port)
    }

    /// Sends a request that init answers with one message.
    func unary(_ request: WireMessage, _ what: @autoclosure () -> String) async throws -> WireMessage {
        let what = what()
        return try await transport.withConnection { connection in
            var frames = InitFrames(connection)
            try await frames.send(request)
            return try await frames.expectReply(what)
        }
    }
}

extension WireUser {
    init(_ user: SandboxUser) { self.init(uid: user.uid, gid: user.gid) }
}
