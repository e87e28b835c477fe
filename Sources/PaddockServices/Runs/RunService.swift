import Foundation
import Logging
import PaddockCore
import PaddockObservability
import PaddockSandbox
import PaddockStore
import ServiceLifecycle
import Tracing

/// Starts coding agents in sessions and keeps their run records. A run belongs to the server, not to the
/// client that asked for it: the agent's process is followed by a task of this service, so a client that
/// disconnects only stops watching (`events` replays and follows again). The agents' tasks are the service's
/// own (`run()`, in the server's service group): shutting the server down ends them in one place.
public actor RunService: Service {
    let sessions: SessionService
    let store: any RunStore
    /// Where teams' own budgets are kept (set with `paddock teams budget`); nil: only the configuration's.
    let teams: (any AccessStore)?
    public nonisolated let configuration: RunConfiguration
    let logger: Logger
    let clock: @Sendable () -> Date

    /// A run whose agent process is (or is about to be) going.
    struct LiveRun {
        var run: Run
        /// Who started the run: its agent's commands and its audit events are theirs.
        let caller: Caller
        var handle: (any ExecHandle)?
        /// Set when the run is being stopped: the status it ends with and why.
        var stop: (status: Run.Status, reason: String)?
        /// Every event so far, so a watcher that arrives now gets the whole stream without a gap.
        var events: [RunEvent] = []
        var watchers: [UUID: AsyncStream<RunEvent>.Continuation] = [:]
        /// The task following the agent's process; its end is the run's end.
        var job: BackgroundJob?
        /// The agent's cost total when this run started (its earlier prompts in the same conversation).
        var costBaseline: Double = 0
        /// What the conversation's earlier runs used, for agents that report the conversation's usage.
        var usageBaseline = TokenUsage()
        /// The run's own trace, from its start to its end.
        var span: (any Span)?

        init(run: Run, caller: Caller, costBaseline: Double, usageBaseline: TokenUsage = TokenUsage()) {
            self.run = run
            self.caller = caller
            self.costBaseline = costBaseline
            self.usageBaseline = usageBaseline
        }
    }

    var live: [String: LiveRun] = [:]
    /// Where the agents' processes are followed, and their stops carried out.
    private let work = BackgroundWork()
    /// The run going in a session, if any.
    func liveRun(session id: SessionID) -> Run? { live.values.first { $0.run.session == id }?.run }

    /// A run is a trace of its own (it outlives the request that started it), linked to that request's trace;
    /// the agent's commands and the session's gateway requests are its spans.
    static func startTrace(_ run: Run, session: Session) -> any Span {
        let span = startSpan("run", context: .topLevel)
        if let requester = InstrumentationContext.current {
            span.addLink(SpanLink(context: requester, attributes: [:]))
        }
        PaddockTracing.tag(span, session: run.session.rawValue, run: run.id, team: run.team)
        span.attributes["paddock.agent"] = run.agent
        span.attributes["paddock.provider"] = session.spec.provider
        RunTraces.shared.begin(session: run.session.rawValue, run: run.id, context: span.context)
        return span
    }

    /// Adds a model call the gateway metered to the run's metered total, and stores it.
    func addMetered(_ call: ModelCall, to id: String) async {
        guard var run = live[id]?.run else { return }
        var metered = run.metered ?? MeteredUsage()
        metered.add(call)
        run.metered = metered
        live[id]?.run.metered = metered
        await update(run)
    }

    /// Sessions whose run is being started (checked and reserved before the first await of `start`).
    private var starting: Set<SessionID> = []

    public init(
        sessions: SessionService, store: any RunStore, teams: (any AccessStore)? = nil,
        configuration: RunConfiguration, logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.sessions = sessions
        self.store = store
        self.teams = teams
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
    }

    /// Follows the runs started from now until the server stops, then stops following them (the runs still
    /// going are recovered as failed on the next start).
    public nonisolated func run() async throws { await cancelWhenGracefulShutdown { await self.work.run() } }

    // MARK: Starting

    /// Starts `prompt` with an agent in a running session and returns the run (`queued` or `running`); the
    /// agent goes on in the background. Refused when the session already has a run going, when the agent is
    /// unknown or its key is missing, and when the session's team is over its monthly budget.
    public func start(
        session id: SessionID, prompt: String, agent requested: String? = nil, model: String? = nil,
        by caller: Caller
    ) async throws -> Run {
        let trimmed = prompt.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw PaddockError.invalidArgument("the prompt is empty; say what to change") }
        guard prompt.utf8.count <= 100_000 else {
            throw PaddockError.invalidArgument("the prompt is longer than 100 kB; shorten it or put it in a file")
        }
        if let model, model.isEmpty || model.hasPrefix("-") || model.count > 200 {
            throw PaddockError.invalidArgument("'\(model)' is not a model name")
        }
        if let requested { _ = try agentDefinition(requested) }
        // The session's one run slot is taken before the first await, so two prompts racing each other cannot
        // both pass the check; it is released when the run is live (it then holds the slot) or refused.
        if let busy = live.values.first(where: { $0.run.session == id }) {
            throw PaddockError.conflict(
                "session \(id) already has a run going (\(busy.run.id)); wait for it, or stop it with "
                    + "`paddock runs cancel \(busy.run.id)`")
        }
        guard starting.insert(id).inserted else {
            throw PaddockError.conflict(
                "session \(id) already has a run starting; wait for it, or stop it with `paddock runs cancel`")
        }
        defer { starting.remove(id) }
        let session = try await sessions.get(id, for: caller, needs: .write)
        guard session.state == .running || session.state == .paused else {
            throw PaddockError.conflict(
                "session \(id) is \(session.state.rawValue); prompts go to a running session")
        }
        // A project's session runs the project's agent and model unless the prompt names others.
        let project = try await projectDefaults(session)
        let name = requested ?? project?.agent ?? configuration.defaultAgent
        let definition = try agentDefinition(name)
        // The project's model goes with the project's agent only.
        let model = model ?? (name == project.map { $0.agent ?? configuration.defaultAgent } ? project?.model : nil)
        if let key = definition.requiredEnv, session.spec.env[key] == nil {
            let give =
                session.spec.project.map {
                    "add it to the project with `paddock projects update \($0) --secret \(key)`"
                }
                ?? "create the session with `--secret \(key)`"
            throw PaddockError.invalidArgument(
                "agent '\(name)' needs \(key) in the session; store the key in the vault (`paddock secrets set \(key) "
                    + "--hosts HOST`) and \(give) — the sandbox only ever sees a placeholder")
        }
        try await checkBudget(team: session.team)
        let context = AgentContext.of(session.policy)
        try checkContext(context, session: session)

        var run = Run(
            id: Run.makeID(), session: id, team: session.team, createdBy: caller.principal?.user, prompt: prompt,
            agent: name,
            model: model, createdAt: clock())
        run.project = session.spec.project
        let previous = try await store.runs(session: id, team: nil, since: nil, limit: 20)
        let resumed = previous.first { $0.agent == name && $0.agentSession != nil }
        let resume = resumed?.agentSession
        run.agentSession = resume
        // What the conversation had cost before this prompt, so the agent's running total becomes this run's.
        let baseline = previous.first { $0.agentSession == resume && $0.agentCostTotal != nil }?.agentCostTotal
        try await store.insertRun(run)
        let used = previous.filter { resume != nil && $0.agentSession == resume }.reduce(TokenUsage()) { $0 + $1.usage }
        live[run.id] = LiveRun(
            run: run, caller: caller, costBaseline: resume == nil ? 0 : baseline ?? 0, usageBaseline: used)
        let runID = run.id
        let launch = RunLaunch(prompt: prompt, model: model, resume: resume, context: context)
        let trace = Self.startTrace(run, session: session)
        live[runID]?.span = trace
        live[runID]?.job = work.start("run \(runID)") {
            await InstrumentationContext.$current.withValue(trace.context) {
                await self.execute(runID, launch: launch, definition: definition)
            }
        }
        logger.info(
            "run started",
            metadata: [
                "run.id": "\(runID)", "session.id": "\(id)", "run.agent": "\(name)", "run.resume": "\(resume ?? "-")",
            ])
        return run
    }

    /// Refuses a run when the team has spent its monthly budget.
    public func checkBudget(team: String?) async throws {
        guard let budget = try await budget(team: team) else { return }
        let spent = try await spending(team: team, since: RunConfiguration.monthStart(of: clock()))
        guard spent < budget else {
            let who = team.map { "team '\($0)'" } ?? "sessions without a team"
            let raise =
                team.map { "`paddock teams budget \($0) --monthly DOLLARS`" }
                ?? "`paddock server --default-team-budget DOLLARS`"
            throw PaddockError.permissionDenied(
                "\(who) spent $\(RunLimits.dollars(spent)) of its $\(RunLimits.dollars(budget)) monthly agent "
                    + "budget; no run starts until the 1st (UTC) — ask a Paddock admin to raise it (\(raise))")
        }
    }

    /// A team's monthly budget: its own (set through the API), else the server's flags; nil: unlimited.
    public func budget(team: String?) async throws -> Double? {
        if let team, let own = try await teams?.team(team)?.monthlyBudgetUSD { return own }
        return configuration.budget(team: team)
    }

    /// The budget that applies to `team`, where it comes from, and what its runs cost this month.
    public func budgetStatus(team: String) async throws -> TeamBudgetStatus {
        guard let record = try await teams?.team(team) else {
            throw PaddockError.notFound("no team named '\(team)'; `paddock teams list` shows them")
        }
        let monthStart = RunConfiguration.monthStart(of: clock())
        let budget = try await budget(team: team)
        let source: TeamBudgetStatus.Source =
            record.monthlyBudgetUSD != nil ? .team : budget != nil ? .server : .none
        return TeamBudgetStatus(
            team: team, monthlyBudgetUSD: budget, source: source,
            spentThisMonthUSD: try await spending(team: team, since: monthStart), monthStart: monthStart)
    }

    /// Sets a team's own monthly budget (nil: back to the server's default).
    public func setBudget(team: String, monthlyUSD: Double?, by caller: Caller) async throws -> TeamBudgetStatus {
        try caller.authorizeOrg(.admin)
        guard let teams else { throw PaddockError.unavailable("this server keeps no teams") }
        if let dollars = monthlyUSD, !dollars.isFinite || dollars < 0 {
            throw PaddockError.invalidArgument(
                "a monthly budget is a number of dollars, 0 or more (0 stops every run); clear it to use the "
                    + "server's default")
        }
        try await teams.setBudget(team: team, monthlyUSD: monthlyUSD)
        try await sessions.orgTrail.record(
            "team.budget", ["team": .string(team), "monthly_usd": monthlyUSD.map { .string(String($0)) } ?? .null],
            by: caller)
        logger.info(
            "team budget set",
            metadata: ["team": "\(team)", "budget.monthly_usd": "\(monthlyUSD.map { "\($0)" } ?? "-")"])
        return try await budgetStatus(team: team)
    }

    /// Dollars spent by a team's runs since `since`.
    func spending(team: String?, since: Date) async throws -> Double {
        try await store.runs(session: nil, team: team, since: since, limit: nil).filter { $0.team == team }
            .reduce(0) { $0 + $1.costUSD }
    }

    // MARK: Reading

    public func get(_ id: String) async throws -> Run {
        if let running = live[id] { return running.run }
        guard let run = try await store.run(id: id) else {
            throw PaddockError.notFound("run \(id) does not exist; `paddock runs list` shows the runs")
        }
        return run
    }

    public func list(session: SessionID? = nil, team: String? = nil, since: Date? = nil, limit: Int? = nil)
        async throws -> [Run]
    {
        try await store.runs(session: session, team: team, since: since, limit: limit).map { live[$0.id]?.run ?? $0 }
    }

    /// The run's events after `after`, then — while it runs — each new one as it happens; ends when the run
    /// ends. Ending the iteration early only stops watching.
    public func events(_ id: String, after: Int = 0) async throws -> AsyncStream<RunEvent> {
        if var running = live[id] {
            let (stream, continuation) = AsyncStream.makeStream(of: RunEvent.self)
            for event in running.events where event.seq > after { continuation.yield(event) }
            let token = UUID()
            running.watchers[token] = continuation
            live[id] = running
            continuation.onTermination = { _ in Task { await self.unwatch(id, token) } }
            return stream
        }
        _ = try await get(id)
        let stored = try await store.runEvents(run: id, after: after)
        return AsyncStream { continuation in
            for event in stored { continuation.yield(event) }
            continuation.finish()
        }
    }

    private func unwatch(_ id: String, _ token: UUID) { live[id]?.watchers[token] = nil }

    /// The run's events so far, without following it (a page's first render; `events` then follows).
    public func history(_ id: String) async throws -> [RunEvent] {
        if let running = live[id] { return running.events }
        _ = try await get(id)
        return try await store.runEvents(run: id, after: 0)
    }

    /// Waits until the run has ended and returns its record.
    public func wait(_ id: String) async throws -> Run {
        for await _ in try await events(id) {}
        await live[id]?.job?.ended()
        return try await get(id)
    }

    /// Stops a run: its agent gets SIGTERM, then SIGKILL, and the run ends `cancelled`.
    @discardableResult
    public func cancel(_ id: String, by caller: Caller) async throws -> Run {
        guard live[id] != nil else {
            let run = try await get(id)
            guard run.status.isFinished else {
                throw PaddockError.conflict("run \(id) is \(run.status.rawValue) but not followed by this server")
            }
            return run
        }
        stop(id, .cancelled, "cancelled by \(caller.user)")
        return try await wait(id)
    }

    /// Per-session and per-team totals of the runs started since `since`.
    public func usage(team: String? = nil, since: Date?) async throws -> UsageReport {
        let runs = try await list(team: team, since: since)
        return UsageReport(runs: runs, since: since)
    }

    // MARK: Running

    func stop(_ id: String, _ status: Run.Status, _ reason: String) {
        guard var running = live[id], running.stop == nil else { return }
        running.stop = (status, reason)
        live[id] = running
        let handle = running.handle
        let job = running.job
        work.start("stopping run \(id)") {
            // The agent's tool commands are its children in its process group; the group is signalled.
            let policy = KillPolicy.graceful
            await self.signal(handle, KillPolicy.terminateSignal, run: id)
            // The run ending is the event waited on (its task returns); the grace period only bounds the wait.
            var ended = true
            do { try await withDeadline(policy.grace, "run \(id) stopping") { await job?.ended() } } catch {
                ended = false  // the grace period passed with the agent still running
            }
            // Only while the run is still followed: a process that already exited must not be signalled again.
            if !ended, await self.isFollowed(id) { await self.signal(handle, KillPolicy.killSignal, run: id) }
        }
    }

    private func isFollowed(_ id: String) -> Bool { live[id] != nil }

    private func signal(_ handle: (any ExecHandle)?, _ signal: Int32, run id: String) async {
        do { try await handle?.signal(signal) } catch {
            // The agent may have exited on its own a moment ago; the run's end is recorded either way.
            logger.debug("signalling a run's agent failed", metadata: ["run.id": "\(id)", "error": "\(error)"])
        }
    }

    func emit(_ id: String, _ event: RunEvent) async {
        guard var running = live[id] else { return }
        var e = event
        e.run = id
        e.seq = (running.events.last?.seq ?? 0) + 1
        e.at = clock()
        running.events.append(e)
        live[id] = running
        for watcher in running.watchers.values { watcher.yield(e) }
        let (store, stored) = (store, e)
        await Self.evenWhenStopping("could not store a run event", run: id, logger) {
            try await store.appendRunEvent(stored)
        }
    }

    /// Writes a run's record even from a cancelled task: the server's shutdown cancels running runs, and their
    /// last status and events must reach the store now rather than wait for the next start's recovery.
    static func evenWhenStopping(
        _ failure: Logger.Message, run id: String, _ logger: Logger,
        _ write: @escaping @Sendable () async throws -> Void
    ) async {
        do { try await evenWhenCancelled(write) } catch {
            logger.error(failure, metadata: ["run.id": "\(id)", "error": "\(error)"])
        }
    }

    func update(_ run: Run) async {
        var run = run
        // The gateway's metering adds to the live record while the agent's task works on its own copy.
        if let metered = live[run.id]?.run.metered, (run.metered?.calls ?? 0) < metered.calls { run.metered = metered }
        live[run.id]?.run = run
        let (store, stored) = (store, run)
        await Self.evenWhenStopping("could not store a run", run: run.id, logger) { try await store.updateRun(stored) }
    }

    func setStatus(_ id: String, _ status: Run.Status) async {
        guard var run = live[id]?.run, run.status != status, !run.status.isFinished else { return }
        run.status = status
        await update(run)
        await emit(id, RunEvent(run: id, at: clock(), kind: "status", status: status))
    }

    func attach(_ id: String, handle: any ExecHandle) -> Bool {
        live[id]?.handle = handle
        return live[id]?.stop == nil
    }

    func stopRequest(_ id: String) -> (status: Run.Status, reason: String)? { live[id]?.stop }

    func finishLive(_ id: String) {
        guard let running = live.removeValue(forKey: id) else { return }
        for watcher in running.watchers.values { watcher.finish() }
    }
}

extension RunService {
    /// After a restart: runs that were going when the server stopped lost their agent; they end `failed`.
    public func recover() async throws {
        for var run in try await store.runs(session: nil, team: nil, since: nil, limit: nil)
        where !run.status.isFinished && live[run.id] == nil {
            run.status = .failed
            run.reason = "the server stopped while the run was going; prompt again"
            run.finishedAt = run.finishedAt ?? clock()
            try await store.updateRun(run)
        }
    }
}
