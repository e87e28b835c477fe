import Foundation
import Logging
import PaddockCore
import PaddockObservability
import PaddockSandbox
import PaddockStore
import Tracing

/// Owns the session lifecycle: validation, state transitions (`SessionState.next(on:)`), persistence and
/// the provider calls that make them real. The store is the source of truth; this actor only orders the
/// steps so a session is never reported in a state its sandbox is not in.
public actor SessionService {
    let store: any Store
    let providers: [String: any SandboxProvider]
    let logger: Logger
    let clock: @Sendable () -> Date
    /// When each session last saw work (an API call, an exec, output on an attached stream).
    private var lastActivity: [SessionID: ContinuousClock.Instant] = [:]
    /// Exec streams currently attached to each session; a session with one is never idle.
    private var attachedStreams: [SessionID: Int] = [:]
    /// Variables every command in every session gets (the preview viewer key), under the session's own.
    private var sessionEnvironment: [String: String] = [:]
    /// The warm pools' sizes, kept by `WarmPoolService`; a cold start says whether its pool was empty.
    nonisolated let poolTargets = WarmPoolTargets()
    /// Layers being written or copied right now (snapshots, forks, template builds); never collected.
    nonisolated let layerPins = LayerPins()
    /// Templates being built right now; a second build of the same name is refused until the first ends.
    nonisolated let templateBuilds = ExclusiveKeys<String>()
    /// Policy layering, the exec guard and approvals.
    public nonisolated let guardrails: GuardrailService
    /// The egress gateway and secrets vault; without it nothing leaves any sandbox.
    private(set) var network: SessionNetwork?
    /// Emergency stops, org limits and the audit trail; present when the store keeps them (SQLite does).
    let governance: SessionGovernance?
    /// The server's clones of session repositories; without it `--repo` sessions are refused.
    private(set) var repositories: RepositoryClones?
    /// One lifecycle operation per session at a time (create, pause, resume, snapshot, fork, destroy), held
    /// across the provider call: a pause overlapping a destroy would otherwise store `paused` for a sandbox
    /// that no longer exists.
    nonisolated let lifecycle = KeyedLock<SessionID>()
    /// Each session's state as last stored, for hot paths that must not read SQLite per request (previews).
    nonisolated let states = SessionStateCache()
    /// Session rows read lately, answered while no session was written since (every session write goes through the
    /// store's `insertSession` or `updateSession`, which move its `sessionEpoch`). Only the row is kept, never a
    /// decision: the caller is authorized against it on every call, as their access is at that call.
    nonisolated let known = EpochMemory<SessionID, Session>()

    public init(
        store: any Store, providers: [String: any SandboxProvider], logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.providers = providers
        self.logger = logger
        self.clock = clock
        let governance = (store as? any AccessStore & AuditStore).map {
            SessionGovernance(access: $0, audit: AuditLog(store: $0, clock: clock))
        }
        self.governance = governance
        guardrails = GuardrailService(
            store: store as? any ApprovalStore, logger: logger, clock: clock, audit: governance?.audit)
    }

    public nonisolated var providerNames: [String] { providers.keys.sorted() }

    /// The audit trail, for components outside the service (the egress gateway) to record into.
    public nonisolated var auditRecorder: (any AuditRecorder)? { governance?.audit }

    /// Connects new sessions to the egress gateway (set once, before sessions are created).
    /// Connects sessions to the egress gateway; the gateway's `ask` rules become approval requests, answered
    /// like the exec guard's (`paddock approvals`), and the session shows `awaiting_approval` meanwhile.
    /// The vault's values are kept out of the audit trail from here on: whatever a person types (an exec's
    /// argv, a path, an approval's text) is scrubbed of them before it is recorded.
    public func setNetwork(_ network: SessionNetwork?) {
        self.network = network
        if let vault = network?.vault { governance?.audit.redactSecrets(using: vault) }
        let approvals = guardrails.approvals
        network?.gateway.approvalHook = { session, host, port, rule in
            await approvals.request(session: session, kind: "network", subject: "\(host):\(port)", rule: rule)
                .isApproved
        }
    }

    /// Where repository sessions keep their host-side clones (set once, before sessions are created).
    public func setRepositories(_ repositories: RepositoryClones?) { self.repositories = repositories }

    // MARK: Lifecycle

    public func create(_ spec: SessionSpec, policy: PolicyText? = nil, owner: SessionOwner? = nil, by caller: Caller)
        async throws -> Session
    {
        try await withSpan("session.create") { span in
            PaddockTracing.tag(span, team: owner?.team)
            span.attributes["paddock.provider"] = spec.provider
            let session = try await createTraced(spec, policy: policy, owner: owner, by: caller)
            PaddockTracing.tag(span, session: session.id.rawValue)
            span.attributes["paddock.start"] = session.start
            return session
        }
    }

    private func createTraced(_ spec: SessionSpec, policy: PolicyText?, owner: SessionOwner?, by caller: Caller)
        async throws -> Session
    {
        if spec.repository != nil {
            return try await createOnRepository(spec, policy: policy, owner: owner, by: caller)
        }
        var spec = spec
        let prepared = try await guardrails.prepare(policy)
        try prepared?.apply(to: &spec)
        try spec.validate()
        try await network?.validate(spec, team: owner?.team)
        guard let name = spec.snapshot else {
            return try await create(spec, layer: nil, prepared: prepared, owner: owner, by: caller)
        }
        // Starting from a snapshot reads its files: the caller must be able to read the snapshot's team.
        let snapshot = try await SnapshotService(sessions: self).get(name, for: caller, needs: .read)
        guard snapshot.provider == spec.provider else {
            throw PaddockError.invalidArgument(
                "snapshot \(name) was taken on provider '\(snapshot.provider)'; create the session with "
                    + "--provider \(snapshot.provider)")
        }
        guard snapshot.template == spec.template else {
            throw PaddockError.invalidArgument(
                "snapshot \(name) was taken over template '\(snapshot.template)'; create the session with "
                    + "--template \(snapshot.template)")
        }
        var resolved = spec
        resolved.snapshot = snapshot.id
        let restoresProcesses = snapshot.keeps == .processes
        if restoresProcesses { try await checkLimits(spec, continuing: snapshot) }
        return try await layerPins.holding(snapshot.layer) {
            try await create(
                resolved, layer: snapshot.layer, restoresProcesses: restoresProcesses, prepared: prepared,
                owner: owner, by: caller)
        }
    }

    /// Processes continued from a snapshot keep the limits they were started with (gVisor's are rlimits inside the
    /// sandbox, which the host cannot change), so their new session must ask for the same ones.
    private func checkLimits(_ spec: SessionSpec, continuing snapshot: Snapshot) async throws {
        guard let source = try await store.session(snapshot.session), source.spec.limits != spec.limits else { return }
        throw PaddockError.invalidArgument(
            "snapshot \(snapshot.id) keeps processes, which keep the limits they started with (\(source.spec.limits)); "
                + "create the session with the same limits, or from a snapshot that keeps files")
    }

    /// Creates a session whose sandbox starts with the files of `layer` (a snapshot's), if any; `sharesWorkspace`:
    /// the layer is a workspace layer the sandbox may share copy-on-write (a repository commit's);
    /// `restoresProcesses`: the layer kept processes, which the sandbox continues (always a cold start).
    func create(
        _ requested: SessionSpec, layer: String?, sharesWorkspace: Bool = false, restoresProcesses: Bool = false,
        prepared given: GuardrailService.Prepared? = nil, owner: SessionOwner?, by caller: Caller
    ) async throws -> Session {
        let started = ContinuousClock.now
        let (admitted, admission) = try await admit(requested, owner: owner)
        defer { admission.release() }
        let spec = try await TemplateService(sessions: self).resolving(admitted)
        // A fork runs under its parent's policy.
        var prepared = given
        if prepared == nil, let parent = requested.forkOf {
            let sources = try await store.session(parent)?.policy?.sources ?? []
            let source = sources.last { $0.layer == "session" }
            let repository = sources.last { $0.layer == "repository" }
            prepared = try await guardrails.prepare(
                source.map { PolicyText(text: $0.text, file: $0.file) },
                repository: repository.map { PolicyText(text: $0.text, file: $0.file) })
        }
        guard let provider = providers[spec.provider] else {
            throw PaddockError.invalidArgument(
                "provider '\(spec.provider)' is not available on this server; use one of: \(providerNames.joined(separator: ", "))"
            )
        }
        let now = clock()
        let expiresAt = spec.ttlSeconds.map { now.addingTimeInterval(TimeInterval($0)) }
        // A warm sandbox is handed over when one is ready; otherwise a cold start, and the session says why.
        // Warm sandboxes have no exec guard or guardrail mounts, so a guarded session always starts cold.
        if prepared?.needsGuardedSandbox != true, !restoresProcesses,
            let id = await provider.claimWarm(template: spec.warmTemplate, limits: spec.limits, layer: layer)
        {
            var session = Session(
                id: id, state: .running, spec: spec, createdAt: now, updatedAt: now, expiresAt: expiresAt)
            session.start = "warm"
            session.policy = prepared?.stored
            (session.team, session.createdBy) = (owner?.team, owner?.user)
            do {
                try await network?.attach(&session, provider: provider)
                try await storeInsert(session)
            } catch {
                await network?.detach(id)
                await destroyBestEffort(id, provider, why: "its session could not be stored or connected")
                throw error
            }
            lastActivity[id] = .now
            try await recordCreate(session, by: caller)
            PaddockMetrics.sessionStarted(
                start: "warm", provider: spec.provider, team: owner?.team, outcome: "ok", duration: .now - started)
            logger.info("session created from the warm pool", metadata: ["session.id": "\(id)"])
            return session
        }
        let session = Session(
            id: .random(), state: .creating, spec: spec, createdAt: now, updatedAt: now, expiresAt: expiresAt)
        // Nobody knows the id yet, but a destroy of it (stop-all, a list-and-kill) must wait for the start.
        return try await lifecycle.withLock(session.id) {
            do {
                let cold = try await startCold(
                    session, provider: provider, layer: layer, sharesWorkspace: sharesWorkspace,
                    restoresProcesses: restoresProcesses, prepared: prepared, owner: owner, by: caller)
                PaddockMetrics.sessionStarted(
                    start: "cold", provider: spec.provider, team: owner?.team, outcome: "ok", duration: .now - started)
                return cold
            } catch {
                PaddockMetrics.sessionStarted(
                    start: "cold", provider: spec.provider, team: owner?.team, outcome: "failed",
                    duration: .now - started)
                throw error
            }
        }
    }

    private func startCold(
        _ new: Session, provider: any SandboxProvider, layer: String?, sharesWorkspace: Bool,
        restoresProcesses: Bool, prepared: GuardrailService.Prepared?, owner: SessionOwner?, by caller: Caller
    ) async throws -> Session {
        var session = new
        let spec = session.spec
        (session.team, session.createdBy) = (owner?.team, owner?.user)
        let ready = await provider.readyCount(template: spec.template)
        if prepared?.needsGuardedSandbox != true,
            poolTargets.keepsWarm(provider: spec.provider, template: spec.template)
        {
            PaddockMetrics.warmPoolMiss(provider: spec.provider, template: spec.template)
        }
        session.policy = prepared?.stored
        session.start =
            prepared?.needsGuardedSandbox == true
            ? "cold: the session's guardrails need their own sandbox setup"
            : poolTargets.keepsWarm(provider: spec.provider, template: spec.template)
                ? "cold: the warm pool for '\(spec.template)' was empty (\(ready) ready); it refills in the background"
                : "cold: no warm pool for '\(spec.template)' on provider '\(spec.provider)'"
        if restoresProcesses { session.start = "cold: it continues a snapshot's processes" }
        try await storeInsert(session)
        do {
            var request = SandboxRequest(
                id: session.id, template: spec.template, limits: spec.limits, layer: layer,
                base: spec.templateBase ?? "host", templateLayer: spec.templateLayer)
            request.sharesWorkspace = sharesWorkspace
            request.restoresProcesses = restoresProcesses
            if let prepared { request.guardrails = await guardrails.sandboxGuardrails(prepared, session: session.id) }
            try await withSpan("provider.create", ofKind: .client) { span in
                PaddockTracing.tag(span, session: session.id.rawValue, team: owner?.team)
                span.attributes["paddock.provider"] = spec.provider
                try await provider.create(request)
            }
        } catch {
            let e = Self.startFailure(error, session: session.id)
            session.reason = e.message
            try await transition(&session, .startFailed, by: caller)
            logger.warning("session failed to start", metadata: ["session.id": "\(session.id)", "error": "\(error)"])
            throw e
        }
        // A destroy may have arrived while the sandbox was starting; honour it now.
        if let current = try await store.session(session.id), current.state != .creating {
            await destroyBestEffort(session.id, provider, why: "it was destroyed while starting")
            if current.state == .destroying {
                var s = current
                try await transition(&s, .teardownFinished, by: caller)
            }
            throw PaddockError.conflict("the session was destroyed while it was starting")
        }
        do { try await network?.attach(&session, provider: provider) } catch {
            await destroyBestEffort(session.id, provider, why: "it could not be connected to the gateway")
            let e = PaddockError.wrap(error, "connecting the session to the network failed")
            session.reason = e.message
            try await transition(&session, .startFailed, by: caller)
            throw e
        }
        try await transition(&session, .started, by: caller)
        try await recordCreate(session, by: caller)
        logger.info(
            "session created", metadata: ["session.id": "\(session.id)", "session.template": "\(spec.template)"])
        return session
    }

    /// What a client hears when a provider could not start a sandbox. A refusal the client can act on (an
    /// unknown template, a full host) keeps its message; anything else is the runtime's own output, which names
    /// host paths, so it stays in the server log under the session's id.
    static func startFailure(_ error: any Error, session: SessionID) -> PaddockError {
        let actionable: Set<PaddockError.Code> = [
            .invalidArgument, .notFound, .alreadyExists, .conflict, .resourceExhausted, .payloadTooLarge,
            .permissionDenied,
        ]
        if let e = error as? PaddockError, actionable.contains(e.code) { return e }
        return PaddockError(
            .unavailable,
            "the sandbox could not be started on this host; the server log has the cause (session.id \(session))",
            underlying: error)
    }

    /// Whether a process of the session waits for a person's approval.
    public func awaitingApproval(_ id: SessionID) async -> Bool { await guardrails.approvals.isAwaiting(id) }

    /// The session as the store holds it. Answered from memory while no session was written since it was read:
    /// every call inside a session (an exec, a file) starts here, and reading and decoding the row was a good
    /// part of a short command's cost.
    public func get(_ id: SessionID) async throws -> Session {
        // Read before the store is: a write landing in between leaves the entry already out of date.
        let epoch = store.sessionEpoch
        if let session = known.value(id, epoch: epoch) { return session }
        guard let s = try await store.session(id) else { throw Self.missing(id) }
        known.remember(s, for: id, epoch: epoch)
        return s
    }

    /// The session, if the caller may do `permission` on it; another team's session is not found, exactly
    /// like one that does not exist.
    public func get(_ id: SessionID, for caller: Caller, needs permission: Permission) async throws -> Session {
        let session = try await get(id)
        try caller.authorize(permission, team: session.team, hidden: Self.missing(id))
        return session
    }

    /// The sessions the caller may see.
    public func list(includeEnded: Bool, for caller: Caller) async throws -> [Session] {
        try await store.sessions(includeTerminal: includeEnded).filter {
            caller.principal?.canSee(team: $0.team) ?? true
        }
    }

    public func list(includeEnded: Bool) async throws -> [Session] {
        try await store.sessions(includeTerminal: includeEnded)
    }

    /// Destroys the session's sandbox and marks it destroyed. Destroying a destroyed session is a no-op.
    /// `keepingFilesForPreviews: false` skips the snapshot that `previews: {restart: true}` asks for (a preview
    /// restart that failed removes its half-made session, which has nothing worth restarting from).
    @discardableResult
    public func destroy(
        _ id: SessionID, reason: String? = nil, keepingFilesForPreviews: Bool = true, by caller: Caller
    ) async throws -> Session {
        _ = try await get(id, for: caller, needs: .write)
        return try await lifecycle.withLock(id) {
            try await destroyHoldingLock(id, reason: reason, keepingFiles: keepingFilesForPreviews, by: caller)
        }
    }

    private func destroyHoldingLock(_ id: SessionID, reason: String?, keepingFiles: Bool = true, by caller: Caller)
        async throws -> Session
    {
        var session = try await get(id)
        if session.state == .destroyed { return session }
        if keepingFiles && (session.state == .running || session.state == .paused) {
            await keepFilesForPreviews(session, by: caller)
        }
        session.reason = reason ?? session.reason
        try await transition(&session, .destroy, by: caller)
        await guardrails.approvals.cancel(session: id, reason: "the session was destroyed")
        await network?.detach(id)
        if let provider = providers[session.spec.provider] {
            do { try await provider.destroy(id) } catch {
                logger.error("sandbox teardown failed", metadata: ["session.id": "\(id)", "error": "\(error)"])
                throw PaddockError.wrap(error, "destroying the sandbox failed; retry the destroy")
            }
        }
        try await transition(&session, .teardownFinished, by: caller)
        repositories?.remove(id)
        try await record(id, "session.destroy", ["reason": .string(reason ?? "requested")], by: caller)
        logger.info(
            "session destroyed", metadata: ["session.id": "\(id)", "session.reason": "\(reason ?? "requested")"])
        return session
    }

    /// `previews: {restart: true}`: the files as they are at the end, as a snapshot, so a share link visited later
    /// can restart the session from them. A session that cannot be snapshotted is destroyed all the same; its
    /// previews then restart from an older snapshot, or say they ended.
    private func keepFilesForPreviews(_ session: Session, by caller: Caller) async {
        do {
            guard try session.effectivePolicy()?.previews?.restart == true else { return }
            let snapshot = try await SnapshotService(sessions: self).takeHoldingLock(
                session.id, name: nil, keeps: .files, by: caller)
            logger.info(
                "files kept for preview restarts",
                metadata: ["session.id": "\(session.id)", "snapshot.id": "\(snapshot.id)"])
        } catch {
            logger.warning(
                "could not keep the files of a session whose previews restart",
                metadata: ["session.id": "\(session.id)", "error": "\(error)"])
        }
    }

    public func setSessionEnvironment(_ environment: [String: String]) { sessionEnvironment = environment }

    /// Freezes a running session (`paddock session stop`): its processes stop using CPU and keep their
    /// memory and files; a resume continues them where they were. `toDisk` (gVisor sessions) writes the whole
    /// sandbox to disk instead and releases its memory; a resume restores it, processes included.
    @discardableResult
    public func pause(_ id: SessionID, toDisk: Bool = false, by caller: Caller) async throws -> Session {
        _ = try await get(id, for: caller, needs: .write)
        guard toDisk else { return try await freezeTransition(id, .pause, by: caller) { try await $0.pause(id) } }
        try checkNothingAttached(id, before: "stop it to disk")
        return try await freezeTransition(id, .pause, details: ["to": .string("disk")], by: caller) {
            try await $0.pauseToDisk(id)
        }
    }

    /// A checkpoint closes init's connections, which would kill an attached command: refused while one is.
    func checkNothingAttached(_ id: SessionID, before what: String) throws {
        if let streams = attachedStreams[id] {
            throw PaddockError.conflict(
                "\(streams) client stream(s) are attached to this session (a command, terminal or port); end them, "
                    + "then \(what)")
        }
    }

    @discardableResult
    public func resume(_ id: SessionID, by caller: Caller) async throws -> Session {
        _ = try await get(id, for: caller, needs: .write)
        return try await freezeTransition(id, .resume, by: caller) { try await $0.resume(id) }
    }

    /// Resumes a paused session, or returns it as it is when another caller resumed it a moment ago: for callers
    /// that need it running rather than a transition of their own (traffic to a paused E2B sandbox, connect).
    public func ensureRunning(_ id: SessionID, by caller: Caller) async throws -> Session {
        do { return try await resume(id, by: caller) } catch let error as PaddockError where error.code == .conflict {
            let session = try await get(id)
            guard session.state == .running else { throw error }
            return session
        }
    }

    /// Checks the transition first (so a refused one touches nothing), then acts, then records it.
    private func freezeTransition(
        _ id: SessionID, _ event: SessionState.Event, details: [String: AuditValue] = [:], by caller: Caller,
        _ act: (any SandboxProvider) async throws -> Void
    ) async throws -> Session {
        try await lifecycle.withLock(id) {
            try await freezeTransitionHoldingLock(id, event, details: details, by: caller, act)
        }
    }

    private func freezeTransitionHoldingLock(
        _ id: SessionID, _ event: SessionState.Event, details: [String: AuditValue] = [:], by caller: Caller,
        _ act: (any SandboxProvider) async throws -> Void
    ) async throws -> Session {
        var session = try await get(id)
        let before = session.state
        let next = try session.state.next(on: event)
        guard let provider = providers[session.spec.provider] else {
            throw PaddockError.unavailable("provider '\(session.spec.provider)' is not configured on this server")
        }
        try await act(provider)
        if event == .resume { try await network?.installPendingCA(id, provider: provider) }
        session.state = next
        session.updatedAt = clock()
        try await storeUpdate(session, expecting: before)
        try await record(id, event == .pause ? "session.pause" : "session.resume", details, by: caller)
        logger.info("session \(event == .pause ? "paused" : "resumed")", metadata: ["session.id": "\(id)"])
        return session
    }

    /// Stores `session` if its row is still in state `expected`; the state cache follows the store.
    private func storeUpdate(_ session: Session, expecting expected: SessionState) async throws {
        do { try await store.updateSession(session, expecting: expected) } catch {
            states.forget(session.id)
            throw error
        }
        states.stored(session.id, session.state)
    }

    private func storeInsert(_ session: Session) async throws {
        try await store.insertSession(session)
        states.stored(session.id, session.state)
    }

    /// Moves the session to its next state and stores it, provided the row is still in the state `session`
    /// holds: a transition that lost a race is a `conflict`.
    private func transition(_ session: inout Session, _ event: SessionState.Event, by caller: Caller) async throws {
        let before = session.state
        session.state = try before.next(on: event)
        session.updatedAt = clock()
        try await storeUpdate(session, expecting: before)
        if session.state == .failed {
            try await record(session.id, "session.fail", ["reason": .optional(session.reason)], by: caller)
        }
    }

    /// Destroys every live session whose TTL has passed. Called periodically by `SessionReaper`.
    public func reapExpired() async {
        guard let expired = try? await store.expiredSessions(now: clock()) else { return }
        for s in expired where s.state == .running || s.state == .paused || s.state == .failed {
            if s.spec.pauseOnTimeout == true, s.state == .running || s.state == .paused {
                do {
                    try await lifecycle.withLock(s.id) {
                        if try await get(s.id).state == .running {
                            _ = try await freezeTransitionHoldingLock(s.id, .pause, by: .system) {
                                try await $0.pause(s.id)
                            }
                        }
                        var paused = try await get(s.id)
                        paused.expiresAt = nil
                        try await storeUpdate(paused, expecting: .paused)
                    }
                    try await record(s.id, "session.timeout", ["action": .string("paused")], by: .system)
                    logger.info(
                        "session paused at its deadline (pause on timeout)", metadata: ["session.id": "\(s.id)"])
                } catch {
                    logger.error(
                        "could not pause a session at its deadline",
                        metadata: ["session.id": "\(s.id)", "error": "\(error)"])
                }
                continue
            }
            do { try await destroy(s.id, reason: "ttl expired", by: .system) } catch {
                logger.error(
                    "could not destroy an expired session", metadata: ["session.id": "\(s.id)", "error": "\(error)"])
            }
        }
    }

    /// After a restart: re-adopt running sandboxes that still answer, mark the rest failed, and let each
    /// provider remove whatever no session owns.
    public func recover() async throws {
        let sessions = try await store.sessions(includeTerminal: false)
        for (name, provider) in providers {
            let mine = sessions.filter { $0.spec.provider == name }
            // A guarded sandbox's exec guard lived in the previous server: its execs now fail, so it is not kept.
            let live = Set(
                mine.filter { ($0.state == .running || $0.state == .paused) && $0.policy?.guardsCommands != true }
                    .map(\.id))
            let report = await provider.recover(live: live)
            let adopted = Set(report.adopted)
            let unanswered = Set(report.unanswered)
            let frozen = Set(report.frozen)
            for s in mine where adopted.contains(s.id) {
                guard let network else { break }
                // The gateway listens at once; the CA goes into the sandbox only when its init can answer now.
                // A frozen one gets it when resumed, a silent one when the background check hears from it.
                let answers = !unanswered.contains(s.id) && !frozen.contains(s.id)
                do {
                    var reconnected = try await withDeadline(.seconds(10), "reconnecting session \(s.id)") {
                        var copy = s
                        try await network.attach(&copy, provider: provider, installCA: answers)
                        return copy
                    }
                    // A crash between the freezer and the store write leaves the row saying otherwise; the
                    // sandbox is the truth, so the next call resumes a frozen one instead of hanging on it.
                    if frozen.contains(s.id), reconnected.state == .running { reconnected.state = .paused }
                    if answers, reconnected.state == .paused { reconnected.state = .running }
                    try await storeUpdate(reconnected, expecting: s.state)
                } catch {
                    logger.warning(
                        "an adopted session could not reconnect to the gateway; it has no network",
                        metadata: ["session.id": "\(s.id)", "error": "\(error)"])
                }
            }
            if !unanswered.isEmpty {
                Task { await self.recheckSilent(unanswered, provider: provider) }
            }
            for var s in mine where !adopted.contains(s.id) {
                if s.state == .destroying {
                    try await transition(&s, .teardownFinished, by: .system)
                } else {
                    s.reason =
                        s.policy?.guardsCommands == true
                        ? "the server restarted; a session with command guardrails cannot outlive its exec guard"
                        : "the sandbox was lost while the server was down"
                    try await transition(&s, .lost, by: .system)
                }
            }
        }
        let live = try await store.sessions(includeTerminal: false).filter {
            $0.state == .running || $0.state == .paused
        }
        repositories?.prune(keeping: Set(live.map(\.id)))
    }

    /// Sandboxes adopted at start-up whose init did not answer in the first short wait: given the generous wait
    /// now, in the background, then either connected to their gateway or marked lost.
    private func recheckSilent(_ ids: Set<SessionID>, provider: any SandboxProvider) async {
        for id in ids {
            do {
                try await markLostIfDead(id, provider)
                guard try await store.session(id)?.state == .running else { continue }
                try await network?.installPendingCA(id, provider: provider)
            } catch {
                logger.warning(
                    "re-checking an adopted sandbox failed", metadata: ["session.id": "\(id)", "error": "\(error)"])
            }
        }
    }

    // MARK: Work inside a session

    /// The provider of a session that can take commands right now.
    /// A paused session is resumed transparently: work sent to it is the signal it is wanted again.
    func runningProvider(_ id: SessionID, for caller: Caller, needs permission: Permission) async throws -> (
        Session, any SandboxProvider
    ) {
        var session = try await get(id, for: caller, needs: permission)
        lastActivity[id] = .now
        if session.state == .paused { session = try await resume(id, by: caller) }
        guard session.state == .running else {
            throw PaddockError.conflict(
                "session \(id) is \(session.state.rawValue); only a running session takes commands")
        }
        guard let provider = providers[session.spec.provider] else {
            throw PaddockError.unavailable("provider '\(session.spec.provider)' is not configured on this server")
        }
        return (session, provider)
    }

    public func exec(_ id: SessionID, _ command: SessionCommand, by caller: Caller) async throws -> any ExecHandle {
        // The span measures the start (the handle streams on after it); the command line is not recorded.
        try await withSpan("session.exec") { span in
            PaddockTracing.tag(span, session: id.rawValue)
            return try await execTraced(id, command, by: caller, span: span)
        }
    }

    private func execTraced(_ id: SessionID, _ command: SessionCommand, by caller: Caller, span: any Span)
        async throws -> any ExecHandle
    {
        // Checked before the session is touched (a paused one would be resumed for nothing).
        try InputLimits.checkCommand(command.argv, environment: [:])
        try InputLimits.checkEnvironment(command.env, field: "env")
        let (session, provider) = try await runningProvider(id, for: caller, needs: .write)
        PaddockTracing.tag(span, team: session.team)
        // A session whose stored policy cannot be read runs nothing: what its guardrails allow is unknown.
        _ = try session.effectivePolicy()
        var env = SandboxLayout.baseEnvironment(user: command.user)
        env.merge(sessionEnvironment) { $1 }
        env.merge(session.spec.env) { $1 }
        env.merge(command.env) { $1 }
        if command.tty != nil, env["TERM"] == nil { env["TERM"] = "xterm-256color" }
        let cwd = Self.resolve(command.cwd ?? session.spec.workdir, against: session.spec.workdir)
        try InputLimits.checkWorkingDirectory(cwd, field: "cwd")
        try InputLimits.checkCommand(command.argv, environment: env)
        let request = ExecRequest(
            argv: command.argv, env: env, cwd: cwd, user: command.user, tty: command.tty, stdin: command.stdin,
            detached: command.detached, tag: command.tag)
        // Counted as attached before the command starts, so the idle reaper never freezes a followed command.
        streamChanged(id, attached: true)
        let handle: any ExecHandle
        let started = ContinuousClock.now
        do {
            handle = try await withSpan("paddock-init.exec", ofKind: .client) { span in
                PaddockTracing.tag(span, session: id.rawValue, team: session.team)
                return try await provider.initClient(id).exec(request)
            }
            PaddockMetrics.execStarted(provider: session.spec.provider, outcome: "ok", duration: .now - started)
        } catch {
            PaddockMetrics.execStarted(provider: session.spec.provider, outcome: "failed", duration: .now - started)
            streamChanged(id, attached: false)
            if let e = error as? PaddockError, e.code == .unavailable { try await markLostIfDead(id, provider) }
            throw error
        }
        let tracked = TrackedExecHandle(
            handle, changed: { [weak self] attached in await self?.streamChanged(id, attached: attached) },
            failed: { [weak self] error in
                // A sandbox that dies under its command (gVisor's, when its host ceiling is hit) fails its
                // session now, not at the next call; checked apart, so the caller gets its error at once.
                guard let self, !(error is CancellationError) else { return }
                Task { await self.markLostIfDeadLogging(id, provider) }
            })
        return audited(tracked, id, request, envKeys: Array(command.env.keys), by: caller)
    }

    func streamChanged(_ id: SessionID, attached: Bool) {
        attachedStreams[id, default: 0] += attached ? 1 : -1
        if attachedStreams[id] == 0 { attachedStreams[id] = nil }
        lastActivity[id] = .now
    }

    /// Pauses running sessions that have an idle limit and saw no work for that long. Called by the reaper.
    public func pauseIdle() async {
        guard let live = try? await store.sessions(includeTerminal: false) else { return }
        let now = ContinuousClock.now
        for s in live where s.state == .running {
            guard let idle = s.spec.idleSeconds, attachedStreams[s.id] == nil else { continue }
            // A session first seen now (created, or adopted after a restart) gets a full idle period.
            let last = lastActivity[s.id] ?? now
            lastActivity[s.id] = last
            guard now - last >= .seconds(idle) else { continue }
            do {
                let toDisk = try await pauseIdleSession(s)
                logger.info(
                    "session paused after being idle",
                    metadata: ["session.id": "\(s.id)", "session.idle": "\(idle)s", "session.to_disk": "\(toDisk)"])
            } catch {
                logger.warning(
                    "could not pause an idle session", metadata: ["session.id": "\(s.id)", "error": "\(error)"])
            }
        }
    }

    private func pauseIdleSession(_ s: Session) async throws -> Bool {
        try await pauseReleasingMemory(s.id, by: .system)
    }

    /// Pauses a session so that it costs nothing while it waits where its provider can stop it to disk (gVisor);
    /// else, or when stopping to disk fails (a client stream is attached), it is paused in memory. Processes are
    /// kept either way. Returns whether it went to disk.
    @discardableResult
    public func pauseReleasingMemory(_ id: SessionID, by caller: Caller) async throws -> Bool {
        let session = try await get(id, for: caller, needs: .write)
        if providers[session.spec.provider]?.pausesToDisk == true {
            do {
                try await pause(id, toDisk: true, by: caller)
                return true
            } catch {
                logger.warning(
                    "could not stop a session to disk; pausing it in memory",
                    metadata: ["session.id": "\(id)", "error": "\(error)"])
            }
        }
        try await pause(id, by: caller)
        return false
    }

    /// Whether sessions on this provider can be snapshotted with their processes (gVisor where checkpoint works).
    public nonisolated func keepsProcesses(provider name: String) -> Bool { providers[name]?.keepsProcesses == true }

    /// After a command's stream broke. The connection drops a moment before the sandbox's process is gone (a
    /// process closes its files before it exits), and the runtime may report it running a moment longer still, so
    /// this waits for the exit itself, up to two seconds, and an exit seen is enough.
    private func markLostIfDeadLogging(_ id: SessionID, _ provider: any SandboxProvider) async {
        do {
            let exited = await provider.exited(id, within: .seconds(2))
            try await markLostIfDead(id, provider, exited: exited)
        } catch {
            logger.warning(
                "could not check whether a session's sandbox died",
                metadata: ["session.id": "\(id)", "error": "\(error)"])
        }
    }

    /// A sandbox that stopped answering because it is gone (its init exited, or it was killed from the host)
    /// is marked failed, so the session says so instead of failing every call.
    private func markLostIfDead(_ id: SessionID, _ provider: any SandboxProvider, exited: Bool = false) async throws {
        if !exited {
            guard await !provider.isAlive(id) else { return }
        }
        try await lifecycle.withLock(id) {
            guard var session = try await store.session(id), session.state == .running else { return }
            // Read before the destroy removes the cgroup that counted them.
            let stats: SandboxStats?
            do { stats = try await provider.stats(id) } catch {
                logger.info("no stats of a dead sandbox", metadata: ["session.id": "\(id)", "error": "\(error)"])
                stats = nil
            }
            await destroyBestEffort(id, provider, why: "its init stopped answering")
            session.reason =
                if let stats, stats.oomEvents > 0 {
                    "the sandbox was killed at its host memory ceiling (\(stats.oomEvents) out-of-memory kills); "
                        + "create a new session, with more --memory if the work needs it"
                } else if let stats, stats.pidLimitHits > 0 {
                    "the sandbox stopped after hitting its host process ceiling; create a new session, with more "
                        + "--pids if the work needs it"
                } else {
                    "the sandbox stopped on its own (its supervisor exited); create a new session"
                }
            try await transition(&session, .lost, by: .system)
            logger.warning("session lost: its sandbox stopped", metadata: ["session.id": "\(id)"])
        }
    }

    /// Removes a sandbox that is being given up on; a failure is logged (the provider's recovery removes what
    /// is left at the next start) rather than hiding the error that led here.
    func destroyBestEffort(_ id: SessionID, _ provider: any SandboxProvider, why: String) async {
        do { try await provider.destroy(id) } catch {
            logger.warning(
                "could not remove a sandbox that is being given up on",
                metadata: ["session.id": "\(id)", "why": "\(why)", "error": "\(error)"])
        }
    }

    /// The sandbox's usage for someone watching it (the web UI's meters), without counting as work: a paused
    /// session is not resumed and its idle clock runs on. nil when the session is not running.
    public func meters(_ id: SessionID, by caller: Caller) async throws -> SandboxStats? {
        let session = try await get(id, for: caller, needs: .read)
        guard session.state == .running, let provider = providers[session.spec.provider] else { return nil }
        return try await provider.stats(id)
    }

    public func stats(_ id: SessionID, by caller: Caller) async throws -> SandboxStats {
        let (_, provider) = try await runningProvider(id, for: caller, needs: .read)
        return try await provider.stats(id)
    }

    public static func user(_ text: String?) throws(PaddockError) -> SandboxUser {
        guard let text else { return .user }
        guard let u = SandboxUser(rawValue: text) else {
            throw .invalidArgument("user '\(text)' is not known; use 'user' (default) or 'root'")
        }
        return u
    }

    /// Relative paths are relative to the session's working directory.
    static func resolve(_ path: String, against base: String) -> String {
        if path.hasPrefix("/") { return path }
        return base.hasSuffix("/") ? base + path : base + "/" + path
    }
}
