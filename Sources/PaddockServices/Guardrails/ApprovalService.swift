import Foundation
import Logging
import PaddockCore
import PaddockObservability
import PaddockStore

/// Asks people: a request stays pending until someone with approve rights answers it or it times out (which
/// denies). Persisted, so `paddock approvals list` sees what is waiting and the answer is on disk before the
/// waiting process is let go.
///
/// The hook other guardrails use (the exec guard now, the egress gateway later) is `request(...)`.
public actor ApprovalService {
    let store: (any ApprovalStore)?
    /// Where answers are recorded, on the session that asked; nil only in tests of the hook alone.
    let audit: (any AuditRecorder)?
    let logger: Logger
    let clock: @Sendable () -> Date
    /// How long a request waits for an answer before it is denied.
    public private(set) var defaultTimeout: Duration = .seconds(300)
    /// Requests not answered yet; the in-memory truth, so two answers racing cannot both win.
    private var pending: [String: Approval] = [:]
    private var waiters: [String: [CheckedContinuation<Approval, Never>]] = [:]
    /// Requests still being written to the store, with the answers waiting to write theirs after them.
    private var recordings: [String: [CheckedContinuation<Void, Never>]] = [:]
    /// Requests without a store (tests of the hook alone) keep their answers here.
    private var answered: [String: Approval] = [:]
    /// Who follows whether a session waits for a person (a run mirrors it into its status).
    private var awaitingFollowers: [SessionID: [UUID: AsyncStream<Bool>.Continuation]] = [:]
    /// Who follows the open requests of every session (the approvals inbox).
    private var inboxFollowers: [UUID: AsyncStream<Void>.Continuation] = [:]

    public init(
        store: (any ApprovalStore)?, audit: (any AuditRecorder)? = nil, logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.audit = audit
        self.logger = logger
        self.clock = clock
    }

    public func setDefaultTimeout(_ timeout: Duration) { defaultTimeout = timeout }

    /// Asks a person and waits for the answer; a request nobody answers within `timeout` (default
    /// `defaultTimeout`) comes back `expired`, which denies.
    public func request(
        session: SessionID, kind: String, subject: String, rule: String, timeout: Duration? = nil
    ) async -> Approval {
        let now = clock()
        let wait = timeout ?? defaultTimeout
        let approval = Approval(
            id: Self.newID(), session: session, kind: kind, subject: subject, rule: rule, requestedAt: now,
            expiresAt: now.addingTimeInterval(wait.seconds))
        // Open, and waited on, before the first suspension: an answer that arrives while the request is still
        // being written finds it, and its own write waits for that one (`settle`).
        pending[approval.id] = approval
        recordings[approval.id] = []
        awaitingChanged(session)
        // The request is written and its deadline kept by the asking task itself: nothing outlives it.
        async let recorded: Void = record(approval)
        let answer = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // A deadline, not a poll: the only wake-ups are the deadline and the answer (which cancels it).
                do { try await Task.sleep(for: wait) } catch { return }
                await self.expire(approval.id, note: "nobody answered in time")
            }
            let answer = await withCheckedContinuation { continuation in
                waiters[approval.id, default: []].append(continuation)
            }
            group.cancelAll()
            return answer
        }
        await recorded
        return answer
    }

    /// Ends a request nobody answered, which denies; one answered meanwhile keeps its answer.
    private func expire(_ id: String, note: String) async {
        guard pending[id] != nil else { return }
        do { _ = try await settle(id, .expired, by: "timeout", note: note) } catch {
            logger.error(
                "could not expire an approval request", metadata: ["approval.id": "\(id)", "error": "\(error)"])
        }
    }

    /// Writes a new request to the store, then lets the answers that came meanwhile write theirs. A request
    /// that could not be recorded is denied: nobody could see it to answer it.
    private func record(_ approval: Approval) async {
        var failed = false
        do {
            try await store?.insertApproval(approval)
            logger.notice(
                "approval requested",
                metadata: [
                    "session.id": "\(approval.session)", "approval.id": "\(approval.id)",
                    "approval.kind": "\(approval.kind)",
                ])
        } catch {
            logger.error(
                "could not record an approval request; denying",
                metadata: ["session.id": "\(approval.session)", "error": "\(error)"])
            failed = true
        }
        for answer in recordings.removeValue(forKey: approval.id) ?? [] { answer.resume() }
        if failed {
            _ = try? await settle(approval.id, .denied, by: "paddock", note: "the request could not be recorded")
        }
    }

    /// Approves or denies a pending request, if the caller may approve on the session's team; the answer is
    /// in the session's audit trail, naming the caller, before it is returned.
    public func answer(id: String, approve: Bool, note: String?, by caller: Caller, team: String?) async throws
        -> Approval
    {
        try caller.authorize(
            .approve, team: team,
            hidden: PaddockError.notFound("approval \(id) does not exist; `paddock approvals list` shows open ones"))
        let decided = try await settle(id, approve ? .approved : .denied, by: caller.user, note: note)
        try await audit?.record(
            session: decided.session, kind: "approval.answer",
            actor: caller.actor,
            fields: [
                "approval": .string(id), "kind": .string(decided.kind), "subject": .string(decided.subject),
                "state": .string(decided.state.rawValue), "note": note.map { .string($0) } ?? .null,
            ])
        return decided
    }

    private func settle(_ id: String, _ state: Approval.State, by who: String, note: String?) async throws
        -> Approval
    {
        guard let current = pending[id] else {
            if let existing = try await approval(id) {
                throw PaddockError.conflict(
                    "approval \(id) was already \(existing.state.rawValue); `paddock approvals list` shows open ones")
            }
            throw PaddockError.notFound("approval \(id) does not exist; `paddock approvals list` shows open ones")
        }
        let decided = try current.answered(state, by: who, at: clock(), note: note)
        pending[id] = nil
        PaddockMetrics.approvalAnswered(
            kind: current.kind, state: state.rawValue,
            waited: .milliseconds(
                Int64(max(0, (decided.decidedAt ?? current.requestedAt).timeIntervalSince(current.requestedAt)) * 1000))
        )
        awaitingChanged(current.session)
        // The answer is written after the request, never before it.
        if recordings[id] != nil {
            await withCheckedContinuation { recordings[id, default: []].append($0) }
        }
        do { try await store?.updateApproval(decided) } catch {
            logger.error(
                "could not record an approval answer", metadata: ["approval.id": "\(id)", "error": "\(error)"])
        }
        if store == nil { answered[id] = decided }
        // Again once the answer is stored: a reader of the inbox signal may read the answer back from the store.
        for follower in inboxFollowers.values { follower.yield() }
        for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.resume(returning: decided) }
        logger.notice(
            "approval answered",
            metadata: ["approval.id": "\(id)", "approval.state": "\(state.rawValue)", "approval.by": "\(who)"])
        return decided
    }

    public func approval(_ id: String) async throws -> Approval? {
        if let open = pending[id] { return open }
        if let done = answered[id] { return done }
        return try await store?.approval(id: id)
    }

    /// The requests waiting for an answer right now, from memory: one the store has not finished writing is
    /// here already (the inbox signal comes before the write).
    public func open() -> [Approval] { pending.values.sorted { $0.requestedAt < $1.requestedAt } }

    public func list(session: SessionID?, includeAnswered: Bool) async throws -> [Approval] {
        if let store { return try await store.approvals(session: session, includeAnswered: includeAnswered) }
        let all = Array(pending.values) + (includeAnswered ? Array(answered.values) : [])
        return all.filter { session == nil || $0.session == session }.sorted { $0.requestedAt > $1.requestedAt }
    }

    /// Whether something in the session waits for a person.
    /// How many requests wait for an answer, by kind (`exec`, `network`), for the metrics.
    public func pendingByKind() -> [String: Int] {
        pending.values.reduce(into: [:]) { $0[$1.kind, default: 0] += 1 }
    }

    public func isAwaiting(_ session: SessionID) -> Bool { pending.values.contains { $0.session == session } }

    /// Whether the session waits for a person: now, then at every change, until the caller stops iterating.
    public func awaitingChanges(_ session: SessionID) -> AsyncStream<Bool> {
        let (stream, continuation) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingNewest(1))
        let token = UUID()
        awaitingFollowers[session, default: [:]][token] = continuation
        continuation.onTermination = { _ in Task { await self.unfollow(session, token) } }
        continuation.yield(isAwaiting(session))
        return stream
    }

    private func unfollow(_ session: SessionID, _ token: UUID) {
        awaitingFollowers[session]?[token] = nil
        if awaitingFollowers[session]?.isEmpty == true { awaitingFollowers[session] = nil }
    }

    /// A signal each time a request opens or is answered, anywhere: the inbox reads the list again then.
    public func inboxChanges() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let token = UUID()
        inboxFollowers[token] = continuation
        continuation.onTermination = { _ in Task { await self.unfollowInbox(token) } }
        return stream
    }

    private func unfollowInbox(_ token: UUID) { inboxFollowers[token] = nil }

    private func awaitingChanged(_ session: SessionID) {
        for follower in inboxFollowers.values { follower.yield() }
        guard let followers = awaitingFollowers[session] else { return }
        let now = isAwaiting(session)
        for follower in followers.values { follower.yield(now) }
    }

    /// Ends the open requests of a session that is going away: they are denied, their processes are gone.
    public func cancel(session: SessionID, reason: String) async {
        for approval in pending.values where approval.session == session {
            _ = try? await settle(approval.id, .expired, by: "paddock", note: reason)
        }
    }

    /// At startup: requests left pending by a previous server can never be answered (the processes that asked
    /// are gone), so they are closed as expired.
    public func expireLeftovers() async {
        guard let store else { return }
        do {
            for approval in try await store.approvals(session: nil, includeAnswered: false)
            where pending[approval.id] == nil {
                let closed = try approval.answered(
                    .expired, by: "paddock", at: clock(), note: "the server restarted while the request was open")
                try await store.updateApproval(closed)
            }
        } catch {
            // Their processes are gone, so nothing waits on them; the list just shows them open until retried.
            logger.error("could not close approvals left open by a restart", metadata: ["error": "\(error)"])
        }
    }

    private static func newID() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        return "ap" + String((0..<10).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }
}
