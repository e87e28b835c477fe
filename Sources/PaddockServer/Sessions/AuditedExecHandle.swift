import PaddockCore
import PaddockInitProtocol
import PaddockSandbox
import PaddockStore

/// An exec handle that records the command in the session's audit trail — argv, cwd, user, pid, exit status
/// and duration — and holds the `exited` event back until that record is durable, so no client ever sees a
/// command finish that the trail does not show. A command whose stream ends without an exit (the client left,
/// the sandbox went away) is recorded too, as `ended`.
final class AuditedExecHandle: ExecHandle {
    let events: BackpressuredStream<ExecEvent>
    private let inner: any ExecHandle

    init(
        _ inner: any ExecHandle, audit: AuditLog, session: SessionID, actor: AuditActor, fields: [String: AuditValue]
    ) {
        self.inner = inner
        events = BackpressuredStream { sink in
            let start = ContinuousClock.now
            var pid: Int32?
            var recorded = false
            func record(_ outcome: [String: AuditValue]) async throws {
                recorded = true
                var all = fields.merging(outcome) { $1 }
                all["pid"] = pid.map { AuditValue.int(Int64($0)) } ?? .null
                all["ms"] = .int(Int64(((ContinuousClock.now - start) / .milliseconds(1)).rounded()))
                let event = all
                // Its own task: a cancelled stream (the client left) must still get its record written.
                try await Task { try await audit.record(session: session, kind: "exec", actor: actor, fields: event) }
                    .value
            }
            do {
                for try await event in inner.events {
                    switch event {
                    case .started(let p): pid = p
                    case .exited(let status):
                        var outcome: [String: AuditValue] = ["exit": .int(Int64(status.code))]
                        if let signal = status.signal { outcome["signal"] = .int(Int64(signal)) }
                        if status.outOfMemory { outcome["oom"] = true }
                        try await record(outcome)
                    default: break
                    }
                    await sink.send(event)
                    try Task.checkCancellation()
                }
            } catch {
                if !recorded { try? await record(["ended": "cancelled or lost before it exited"]) }
                throw error
            }
            if !recorded { try await record(["ended": "the stream ended before the command exited"]) }
        }
    }

    func sendStdin(_ bytes: [UInt8]) async throws { try await inner.sendStdin(bytes) }
    func closeStdin() async throws { try await inner.closeStdin() }
    func signal(_ signal: Int32) async throws { try await inner.signal(signal) }
    func resize(_ size: TerminalSize) async throws { try await inner.resize(size) }
    /// Stops following the command: events still on their way, the exit included, are dropped (the layers
    /// below drop theirs too), so only a caller that no longer wants them cancels.
    func cancel() async {
        await inner.cancel()
        events.cancel()
    }
}
