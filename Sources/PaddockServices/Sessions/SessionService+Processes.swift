import Foundation
import PaddockCore
import PaddockInitProtocol
import PaddockSandbox

/// Work on processes and session deadlines that the E2B-compatible API needs beyond `/v1`.
extension SessionService {
    /// Moves a session's deadline: destroyed `seconds` from now, or never with nil (a paused E2B sandbox
    /// keeps until it is resumed or killed). 0 is "now" (E2B's `set_timeout(0)`): the TTL sweep ends it next.
    @discardableResult
    public func setDeadline(_ id: SessionID, seconds: Int64?, by caller: Caller) async throws -> Session {
        if let seconds, seconds != 0 { try InputLimits.checkDeadline(seconds: seconds, field: "timeout") }
        _ = try await get(id, for: caller, needs: .write)
        return try await lifecycle.withLock(id) {
            var session = try await get(id)
            guard session.state.holdsResources else {
                throw PaddockError.conflict("session \(id) is \(session.state.rawValue); it has no deadline to move")
            }
            session.expiresAt = seconds.map { clock().addingTimeInterval(TimeInterval($0)) }
            session.updatedAt = clock()
            try await store.updateSession(session, expecting: session.state)
            try await record(id, "session.deadline", ["ttl_s": seconds.map { .int($0) } ?? .null], by: caller)
            return session
        }
    }

    /// The processes paddock-init supervises in a running session.
    public func processes(_ id: SessionID, by caller: Caller) async throws -> [WireProcessInfo] {
        let (_, provider) = try await runningProvider(id, for: caller, needs: .read)
        return try await provider.initClient(id).listProcesses()
    }

    /// Re-attaches to a command by pid; the newest client takes the command's stream over.
    public func attach(_ id: SessionID, pid: Int32, by caller: Caller) async throws -> any ExecHandle {
        let (_, provider) = try await runningProvider(id, for: caller, needs: .write)
        return try await provider.initClient(id).attach(pid: pid)
    }

    /// Signals a supervised command's process group from outside its own stream.
    public func signal(_ id: SessionID, pid: Int32, signal: Int32, by caller: Caller) async throws {
        let (_, provider) = try await runningProvider(id, for: caller, needs: .write)
        try await provider.initClient(id).signalProcess(pid: pid, signal: signal)
        try await record(id, "process.signal", ["pid": .int(Int64(pid)), "signal": .int(Int64(signal))], by: caller)
    }
}

extension SessionService {
    /// A raw byte connection to `127.0.0.1:port` inside the session's sandbox.
    public func dial(_ id: SessionID, port: UInt16, by caller: Caller) async throws -> any SandboxConnection {
        let (_, provider) = try await runningProvider(id, for: caller, needs: .write)
        return try await provider.initClient(id).dial(port: port)
    }
}
