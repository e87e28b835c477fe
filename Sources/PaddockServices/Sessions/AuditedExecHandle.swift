import Logging
import PaddockCore
import PaddockInitProtocol
import PaddockSandbox
import PaddockStore
import Synchronization

/// An exec handle that records the command in the session's audit trail — argv, cwd, user, pid, exit status
/// and duration — and holds the `exited` event back until that record is durable, so no client ever sees a
/// command finish that the trail does not show. A command whose stream ends without an exit (the client left,
/// the sandbox went away) is recorded too, as `ended`. It watches the inner stream in the consumer's task
/// rather than relaying it through a task of its own.
final class AuditedExecHandle: ExecHandle {
    let events: BackpressuredStream<ExecEvent>
    private let inner: any ExecHandle
    private let record: Record

    init(
        _ inner: any ExecHandle, audit: AuditLog, session: SessionID, actor: AuditActor, fields: [String: AuditValue],
        logger: Logger
    ) {
        self.inner = inner
        let record = Record(audit: audit, session: session, actor: actor, fields: fields, logger: logger)
        self.record = record
        events = inner.events.observed(
            each: { event in
                switch event {
                case .started(let pid): record.started(pid)
                case .exited(let status):
                    var outcome: [String: AuditValue] = ["exit": .int(Int64(status.code))]
                    if let signal = status.signal { outcome["signal"] = .int(Int64(signal)) }
                    if status.outOfMemory { outcome["oom"] = true }
                    try await record.write(outcome)
                default: break
                }
            },
            finished: { try await record.write(["ended": "the stream ended before the command exited"]) },
            failed: { _ in await record.writeEnded() })
    }

    func sendStdin(_ bytes: [UInt8]) async throws { try await inner.sendStdin(bytes) }
    func closeStdin() async throws { try await inner.closeStdin() }
    func signal(_ signal: Int32) async throws { try await inner.signal(signal) }
    func resize(_ size: TerminalSize) async throws { try await inner.resize(size) }
    /// Stops following the command: events still on their way, the exit included, are dropped (the layers
    /// below drop theirs too), so only a caller that no longer wants them cancels.
    func cancel() async {
        await inner.cancel()
        await record.writeEnded()
    }

    deinit {
        // Dropped unread: the command is no longer followed, and the trail says so.
        let record = self.record
        guard !record.isWritten else { return }
        Task { await record.writeEnded() }
    }

    /// The command's one audit record, written once: at its exit, or when it stops being followed.
    final class Record: Sendable {
        private let audit: AuditLog
        private let session: SessionID
        private let actor: AuditActor
        private let fields: [String: AuditValue]
        private let logger: Logger
        private let start = ContinuousClock.now
        private let state = Mutex<(pid: Int32?, written: Bool)>((nil, false))

        init(audit: AuditLog, session: SessionID, actor: AuditActor, fields: [String: AuditValue], logger: Logger) {
            self.logger = logger
            self.audit = audit
            self.session = session
            self.actor = actor
            self.fields = fields
        }

        func started(_ pid: Int32) { state.withLock { $0.pid = pid } }
        var isWritten: Bool { state.withLock { $0.written } }

        /// Records that the command stopped being followed before it exited. Nothing waits on this record (the
        /// caller has left), so a failure to write it cannot refuse anything: it is logged as an error instead.
        func writeEnded() async {
            do { try await write(["ended": "cancelled or lost before it exited"]) } catch {
                logger.error(
                    "could not record in the audit trail that an exec stopped being followed",
                    metadata: ["session.id": "\(session)", "error": "\(error)"])
            }
        }

        /// Writes the record with `outcome` unless it was written already.
        func write(_ outcome: [String: AuditValue]) async throws {
            let (first, pid) = state.withLock { state in
                defer { state.written = true }
                return (!state.written, state.pid)
            }
            guard first else { return }
            var all = fields.merging(outcome) { $1 }
            all["pid"] = pid.map { AuditValue.int(Int64($0)) } ?? .null
            all["ms"] = .int(Int64(((ContinuousClock.now - start) / .milliseconds(1)).rounded()))
            let event = all
            let (audit, session, actor) = (self.audit, self.session, self.actor)
            // Its own task: a cancelled stream (the client left) must still get its record written.
            try await Task { try await audit.record(session: session, kind: "exec", actor: actor, fields: event) }.value
        }
    }
}
