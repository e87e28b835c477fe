import Foundation
import PaddockCore
import PaddockInitProtocol
import PaddockSandbox

/// Work on processes and session deadlines that the E2B-compatible API needs beyond `/v1`.
extension SessionService {
    /// Moves a session's deadline: destroyed `seconds` from now, or never with nil (a paused E2B sandbox
    /// keeps until it is resumed or killed).
    @discardableResult
    public func setDeadline(_ id: SessionID, seconds: Int64?) async throws -> Session {
        if let seconds { try InputLimits.checkDeadline(seconds: seconds, field: "timeout") }
        var session = try await get(id)
        guard session.state.holdsResources else {
            throw PaddockError.conflict("session \(id) is \(session.state.rawValue); it has no deadline to move")
        }
        session.expiresAt = seconds.map { clock().addingTimeInterval(TimeInterval($0)) }
        session.updatedAt = clock()
        try await store.updateSession(session)
        return session
    }

    /// The processes paddock-init supervises in a running session.
    public func processes(_ id: SessionID) async throws -> [WireProcessInfo] {
        let (_, provider) = try await runningProvider(id)
        return try await provider.initClient(id).listProcesses()
    }

    /// Re-attaches to a command by pid; the newest client takes the command's stream over.
    public func attach(_ id: SessionID, pid: Int32) async throws -> any ExecHandle {
        let (_, provider) = try await runningProvider(id)
        return try await provider.initClient(id).attach(pid: pid)
    }

    /// Signals a supervised command's process group from outside its own stream.
    public func signal(_ id: SessionID, pid: Int32, signal: Int32) async throws {
        let (_, provider) = try await runningProvider(id)
        try await provider.initClient(id).signalProcess(pid: pid, signal: signal)
    }
}

extension SessionService {
    /// A raw byte connection to `127.0.0.1:port` inside the session's sandbox.
    public func dial(_ id: SessionID, port: UInt16) async throws -> any SandboxConnection {
        let (_, provider) = try await runningProvider(id)
        return try await provider.initClient(id).dial(port: port)
    }
}
