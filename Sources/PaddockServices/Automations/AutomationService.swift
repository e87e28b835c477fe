import Crypto
import Foundation
import Logging
import PaddockConfig
import PaddockCore
import PaddockStore
import ServiceLifecycle

/// Automations: events from Slack, GitHub, signed webhooks and schedules that start agent work in a project's
/// session, as a named person, and report the outcome.
///
/// Delivery is durable: an event is stored (with its dedupe key) before it is acknowledged and is processed
/// from the store, here, so a crash after the acknowledgement loses nothing (`run()` picks up what was stored
/// and not processed) and a replay of the same key starts nothing (the store's unique index decides).
/// Work starts through `ProjectService.start` as the automation's run-as person — with their teams and role,
/// never more — so the project's policy, the team's budget and the person's permissions all apply; the
/// session's trail names that person with the automation as the "token", and the org trail records each
/// invocation with the human behind the event.
public actor AutomationService: Service {
    let projects: ProjectService
    let store: any AutomationStore
    let logger: Logger
    let clock: @Sendable () -> Date
    /// Delivers the outbox's messages (HTTP in production; tests record them).
    let sender: any OutboxSender
    var sessions: SessionService { projects.sessions }
    /// Invocations and outcomes being followed, each in its own job.
    let work = BackgroundWork()
    /// One change to an automation's record (counters, pause, last tick) at a time.
    let records = KeyedLock<String>()
    /// Nudges the loop that fires schedules and sends the outbox.
    nonisolated let wakeup = Wakeup()
    /// Invocations being processed right now, so a restart's pickup and a fresh event never both take one.
    var processing: Set<String> = []
    /// Approvals posted to a Slack thread with their buttons, by approval id, until their answer is posted.
    var announced: [String: AnnouncedApproval] = [:]
    /// Open approvals of sessions no Slack thread started (looked up once each).
    var notSlacks: Set<String> = []
    /// Slack users mapped (or not) by e-mail, until when that answer is trusted.
    var emailMatches: [String: (user: String?, until: Date)] = [:]

    /// Slack, GitHub and the links in replies.
    let integrations: AutomationIntegrations

    public init(
        projects: ProjectService, integrations: AutomationIntegrations = AutomationIntegrations(), logger: Logger,
        sender: (any OutboxSender)? = nil, clock: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        guard let store = projects.sessions.store as? any AutomationStore else {
            throw PaddockError.unavailable("this server's store keeps no automations")
        }
        self.projects = projects
        self.integrations = integrations
        self.store = store
        self.logger = logger
        self.sender = sender ?? HTTPOutboxSender(logger: logger)
        self.clock = clock
    }

    /// Picks up what was stored and not finished (a crash, a restart), then follows new events, fires the
    /// schedules and sends the outbox until the server stops.
    public nonisolated func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.work.run() }
                group.addTask { await self.followApprovals() }
                group.addTask {
                    await self.sealPlainSecrets()
                    await self.resumeUnfinished()
                    await self.timerLoop()
                }
            }
        }
    }

    // MARK: Reading

    /// The automations the caller may see (their teams'; all for owners and admins).
    public func list(for caller: Caller) async throws -> [Automation] {
        try await store.automations().filter { automation in
            guard let principal = caller.principal else { return true }
            return principal.canSee(team: automation.spec.team)
        }
    }

    public func get(_ id: String, for caller: Caller, needs permission: Permission = .read) async throws -> Automation {
        guard let automation = try await store.automation(id) else { throw Self.missing(id) }
        try caller.authorize(permission, team: automation.spec.team, hidden: Self.missing(id))
        return automation
    }

    /// The automation's invocations, newest first.
    public func history(_ id: String, limit: Int = 50, for caller: Caller) async throws -> [InvocationRecord] {
        _ = try await get(id, for: caller)
        var out: [InvocationRecord] = []
        for invocation in try await store.invocations(automation: id, limit: max(1, min(limit, 1000))) {
            out.append(
                InvocationRecord(
                    invocation: invocation, outbox: Self.shown(try await store.outbox(invocation: invocation.id))))
        }
        return out
    }

    /// One invocation with its outbox messages.
    public func invocation(_ id: String, for caller: Caller) async throws -> InvocationRecord {
        let missing = PaddockError.notFound("invocation \(InputLimits.printable(id)) does not exist")
        guard let invocation = try await store.invocation(id) else { throw missing }
        guard let automation = try await store.automation(invocation.automation) else { throw missing }
        try caller.authorize(.read, team: automation.spec.team, hidden: missing)
        return InvocationRecord(invocation: invocation, outbox: Self.shown(try await store.outbox(invocation: id)))
    }

    /// Outbox messages as people may read them: a Slack `response_url` is a credential (anyone holding it may
    /// post into the channel for half an hour), so only its host is shown.
    static func shown(_ messages: [OutboxMessage]) -> [OutboxMessage] {
        messages.map { message in
            guard message.kind == "slack-response" else { return message }
            var shown = message
            shown.url = "https://\(HTTPOutboxSender.hostOf(message.url))/…"
            return shown
        }
    }

    static func missing(_ id: String) -> PaddockError {
        Automation.looksLikeID(id)
            ? .notFound("automation \(id) does not exist; `paddock automations list` shows the ones you may see")
            : .notFound(
                "there is no automation of that id (they look like au_0123456789abcdef); `paddock automations list`")
    }

    // MARK: Changing

    /// Creates an automation. Whoever may write to its team may create one, running as themselves; only owners
    /// and admins may name someone else to run as. Returns the webhook's secret once (webhook automations).
    /// `secret`: the webhook's secret when the sending service made it (PagerDuty's, Sentry's); it is not shown back.
    public func create(
        _ spec: AutomationSpec, secret given: String? = nil, definedBy: String? = nil, by caller: Caller
    ) async throws -> (Automation, secret: String?) {
        try spec.validate()
        if let given {
            guard spec.source == .webhook else {
                throw PaddockError.invalidArgument("only webhook automations have a secret; leave it out")
            }
            guard (16...512).contains(given.utf8.count), !given.contains(where: { $0.isWhitespace }) else {
                throw PaddockError.invalidArgument(
                    "the secret must be 16 to 512 characters without spaces; paste the one the service generated")
            }
        }
        try authorizeChange(spec, by: caller)
        try await check(spec)
        var automation = Automation(spec: spec, createdBy: caller.user, createdAt: clock())
        automation.definedBy = definedBy
        let secret = spec.source == .webhook ? given ?? Self.makeSecret() : nil
        try await store.insertAutomation(automation, secret: try await sealed(secret, automation: automation.id))
        try await sessions.orgTrail.record(
            "automation.create",
            [
                "automation": .string(automation.id), "name": .string(spec.name),
                "source": .string(spec.source.rawValue),
                "project": .string(spec.project), "team": .optional(spec.team), "run_as": .string(spec.runAs),
            ], by: caller)
        logger.info("automation created", metadata: ["automation.id": "\(automation.id)"])
        return (automation, given == nil ? secret : nil)
    }

    /// Stops (or, with `paused: false`, resumes) starting work; events still arrive and are recorded as refused.
    /// Resuming clears the failure count.
    public func setPaused(_ id: String, _ paused: Bool, reason: String? = nil, by caller: Caller) async throws
        -> Automation
    {
        _ = try await get(id, for: caller, needs: .write)
        let updated = try await records.withLock(id) {
            guard var automation = try await store.automation(id) else { throw Self.missing(id) }
            automation.paused = paused
            automation.pausedReason = paused ? "paused by \(caller.user)" + (reason.map { ": \($0)" } ?? "") : nil
            if !paused { automation.consecutiveFailures = 0 }
            automation.updatedAt = clock()
            try await store.updateAutomation(automation)
            return automation
        }
        try await sessions.orgTrail.record(
            paused ? "automation.pause" : "automation.resume",
            ["automation": .string(id), "reason": .optional(reason)], by: caller)
        return updated
    }

    /// Removes the automation and its history. Work it started goes on.
    @discardableResult
    public func remove(_ id: String, by caller: Caller) async throws -> Automation {
        let automation = try await get(id, for: caller, needs: .write)
        try await store.deleteAutomation(id)
        try await sessions.orgTrail.record("automation.remove", ["automation": .string(id)], by: caller)
        return automation
    }

    /// Makes the project's automations what its runtime.yml's `automations:` says (owners and admins, like
    /// the project itself): new entries are created, changed ones updated (keeping their state and history),
    /// and ones no longer in the file removed. Returns the file's automations, with the secrets of new webhooks
    /// (shown once).
    public func apply(project name: String, by caller: Caller) async throws -> [(Automation, secret: String?)] {
        try caller.authorizeOrg(.admin)
        let project = try await projects.get(name, for: caller)
        var wanted: [AutomationSpec] = []
        if let policy = project.policy {
            let config: RuntimeConfig
            do { config = try RuntimeConfig.parse(policy, file: ProjectService.policyFile(name)) } catch {
                throw error.paddockError
            }
            wanted = config.automations.map {
                var spec = $0.spec
                spec.project = name
                return spec
            }
        }
        let existing = try await store.automations().filter { $0.definedBy == name }
        var out: [(Automation, secret: String?)] = []
        for spec in wanted {
            if var current = existing.first(where: { $0.spec.name == spec.name }) {
                guard current.spec != spec else {
                    out.append((current, nil))
                    continue
                }
                try spec.validate()
                try await check(spec)
                try await records.withLock(current.id) {
                    guard let fresh = try await store.automation(current.id) else { throw Self.missing(current.id) }
                    current = fresh
                    current.spec = spec
                    current.updatedAt = clock()
                    try await store.updateAutomation(current)
                }
                try await sessions.orgTrail.record(
                    "automation.update", ["automation": .string(current.id), "project": .string(name)], by: caller)
                out.append((current, nil))
            } else {
                let (created, secret) = try await create(spec, definedBy: name, by: caller)
                out.append((created, secret))
            }
        }
        for gone in existing where !wanted.contains(where: { $0.name == gone.spec.name }) {
            try await remove(gone.id, by: caller)
        }
        return out
    }

    /// Only people who may write to the team may change its automations, and only owners and admins may make one
    /// run as somebody else: otherwise a member could borrow a colleague's permissions.
    func authorizeChange(_ spec: AutomationSpec, by caller: Caller) throws {
        guard let principal = caller.principal else { return }
        if let team = spec.team {
            try caller.authorize(.write, team: team, hidden: .notFound("team '\(team)' does not exist"))
        } else {
            try caller.authorizeOrg(.admin)
        }
        if spec.runAs != principal.user, !principal.hasGlobal(.admin) {
            throw PaddockError.permissionDenied(
                "an automation of yours runs as you ('\(principal.user)'), not as '\(spec.runAs)'; ask an admin to "
                    + "create one that runs as someone else")
        }
    }

    /// The project exists, the run-as person exists and may write to the team, the agent is one the server runs.
    func check(_ spec: AutomationSpec) async throws {
        let runAs = try await runAsCaller(spec.runAs, automation: "new")
        _ = try await projects.launch(spec.project, team: spec.team, by: runAs)
        if let agent = spec.agent, let runs = projects.runs { _ = try runs.agentDefinition(agent) }
    }

    /// The run-as person as a caller: their role and their teams as they are now, with the automation named
    /// where a token would be, so the trail shows both.
    func runAsCaller(_ name: String, automation id: String) async throws -> Caller {
        try await personCaller(name, via: "automation:\(id)")
    }

    /// A Paddock person as a caller, with their role and teams as they are now; `via` is named where a token
    /// would be (`automation:au_…`, `slack:U…`), so the trail shows how they acted.
    func personCaller(_ name: String, via: String) async throws -> Caller {
        guard let access = sessions.store as? any AccessStore else {
            throw PaddockError.unavailable("this server keeps no people, so automations cannot run as one")
        }
        guard let user = try await access.user(name) else {
            throw PaddockError.permissionDenied(
                "the automation runs as '\(name)', who is not a user (any more); ask an admin to change its "
                    + "run-as person or its identity link")
        }
        var teams: [String: Set<Permission>] = [:]
        for team in try await access.teams() where team.members.contains(user.name) {
            teams[team.name] = team.permissions
        }
        return Caller(
            Principal(
                user: user.name, role: user.role, tokenID: via, scopes: user.role.ceiling,
                teams: teams))
    }

    static func makeSecret() -> String {
        "whsec_"
            + SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.map { String(format: "%02x", $0) }
            .joined()
    }
}

/// An invocation with the messages its outbox sent (or is sending).
public struct InvocationRecord: Sendable, Equatable {
    public var invocation: Invocation
    public var outbox: [OutboxMessage]
}
