/// How a provider reaches a sandbox's paddock-init: a unix socket on the host for the local and gVisor
/// providers, a forwarded stream for a Kubernetes or remote one, memory for the test fake. `InitClient` speaks
/// the protocol over it; a provider supplies nothing else.
///
/// paddock-init carries one operation per connection (see `WireMessage`), so the client opens one per exec or
/// file operation.
public protocol InitTransport: Sendable {
    /// Connects to init, runs `body` with the connection, and closes it when `body` returns or throws.
    /// Throws `unavailable` when init does not answer (the sandbox is gone or stopped).
    func withConnection<T: Sendable>(_ body: (any InitConnection) async throws -> T) async throws -> T
    /// A connection to `127.0.0.1:port` inside the sandbox that init made and handed over (`dialHandoff`), so
    /// the port's bytes skip init's relay; nil where this transport or this sandbox's init cannot (then `dial`
    /// relays). `notFound` when nothing listens on the port.
    func handOff(port: UInt16) async throws -> (any SandboxConnection)?
}

extension InitTransport {
    public func handOff(port: UInt16) async throws -> (any SandboxConnection)? { nil }
}

/// One open connection to init. Its reads belong to the task that runs `withConnection`'s body; its writer may
/// be handed to other tasks (stdin, controls, a dialled port's outbound bytes).
public protocol InitConnection: AnyObject {
    /// The next bytes init sent, or nil once it closed its side.
    func read() async throws -> [UInt8]?
    var writer: any InitWriter { get }
}

/// The sending side of an init connection.
public protocol InitWriter: Sendable {
    func write(_ bytes: [UInt8]) async throws
    /// Closes the sending side only: init reads EOF, and what it still sends arrives.
    func finish()
}
