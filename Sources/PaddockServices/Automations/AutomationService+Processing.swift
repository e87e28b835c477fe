import Foundation
import PaddockCore
import PaddockObservability
import PaddockStore

/// What a dry run (`paddock automations test`) says an event would do.
public struct AutomationDecision: Sendable, Equatable {
    public var decision: Invocation.Decision
    public var reason: String?
    public var prompt: String?
    /// Placeholders of the prompt template the event had no value for (they were left empty).
    public var missing: [String]
    /// Whether this says something is wrong with the automation (its person may not start it, its prompt is
    /// empty), which counts toward pausing it; paused, filtered and rate-limited events do not.
    var countsAsFailure = false
}

extension AutomationService {
    // MARK: Receiving

    /// Stores an event for the automation and returns its invocation (the acknowledgement); the work is done
    /// from the store, in the background. A dedupe key seen before gives a `deduplicated` record instead, which
    /// starts nothing. The caller has already authenticated the event (its signature, or `run-now`'s caller).
    /// `shape` fills in what a source knows besides the event (the person to act as, the thread, where to reply).
    public func receive(
        _ event: JSONDocument, automation id: String, dedupeKey: String?, trigger: String, human: String? = nil,
        shape: (inout Invocation) -> Void = { _ in }
    ) async throws -> Invocation {
        guard try await store.automation(id) != nil else { throw Self.missing(id) }
        var invocation = Invocation(
            automation: id, receivedAt: clock(), dedupeKey: dedupeKey, trigger: trigger, human: human, event: event)
        shape(&invocation)
        let stored = try await store.insertInvocation(invocation)
        PaddockMetrics.triggerInvoked(source: trigger, outcome: stored.decision.rawValue)
        if stored.decision == .pending {
            schedule(stored.id)
        } else {
            logger.info(
                "a repeated event started nothing",
                metadata: ["automation.id": "\(id)", "invocation.id": "\(stored.id)"])
        }
        return stored
    }

    /// `paddock automations run-now`: the event (or an empty one) as if it had arrived, started by the caller,
    /// who must be able to change the automation; it still runs as the automation's person.
    public func runNow(_ id: String, event: JSONDocument?, by caller: Caller) async throws -> Invocation {
        _ = try await get(id, for: caller, needs: .write)
        let invocation = try await receive(
            event ?? .object([:]), automation: id, dedupeKey: "run-now:\(UUID().uuidString)", trigger: "run-now",
            human: caller.user)
        try await sessions.orgTrail.record(
            "automation.run_now", ["automation": .string(id), "invocation": .string(invocation.id)], by: caller)
        return invocation
    }

    /// The decision an event would get now, and its prompt — without storing or starting anything.
    public func test(_ id: String, event: JSONDocument, by caller: Caller) async throws -> AutomationDecision {
        let automation = try await get(id, for: caller, needs: .write)
        return try await decide(automation, event: event, runAs: automation.spec.runAs, dryRun: true)
    }

    func schedule(_ invocation: String, recovering: Bool = false) {
        work.start("invocation \(invocation)") { await self.process(invocation, recovering: recovering) }
    }

    // MARK: Processing

    /// The context templates and filters read: the event under `event` and `payload` (the same document; Slack
    /// people write one, alerting people the other), and the automation's own name and id.
    static func context(_ event: JSONDocument, _ automation: Automation) -> JSONDocument {
        .object([
            "event": event, "payload": event,
            "automation": .object(["id": .string(automation.id), "name": .string(automation.spec.name)]),
        ])
    }

    /// Everything up to starting: paused, filter, rate limit, the prompt, the run-as person's right to start it.
    func decide(_ automation: Automation, event: JSONDocument, runAs: String, branch: String? = nil, dryRun: Bool)
        async throws -> AutomationDecision
    {
        let spec = automation.spec
        if automation.paused {
            return AutomationDecision(
                decision: .refused,
                reason: "the automation is paused (\(automation.pausedReason ?? "no reason given")); resume it with "
                    + "`paddock automations resume \(automation.id)`", prompt: nil, missing: [])
        }
        let context = Self.context(event, automation)
        if let failed = try spec.filter.first(where: { try !$0.matches(context) }) {
            return AutomationDecision(
                decision: .filtered, reason: "the event does not match the filter \(failed)", prompt: nil, missing: [])
        }
        let since = clock().addingTimeInterval(-spec.rateLimit.window)
        let started = try await store.startedCount(automation: automation.id, since: since)
        // A dry run is not an invocation yet, so the limit is full at `count`; a real one is counted once started.
        if started >= spec.rateLimit.count {
            return AutomationDecision(
                decision: .refused,
                reason: "rate limit: \(started) runs started in the last \(Int(spec.rateLimit.window))s, and the "
                    + "automation allows \(spec.rateLimit.count); raise --rate-limit if this is expected",
                prompt: nil, missing: [])
        }
        let template = try PromptTemplate(spec.prompt)
        let (prompt, missing) = template.fill(context)
        guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return AutomationDecision(
                decision: .failed, reason: "the prompt is empty once filled from the event", prompt: prompt,
                missing: missing, countsAsFailure: true)
        }
        do {
            let caller = try await runAsCaller(runAs, automation: automation.id)
            _ = try await projects.launch(spec.project, team: spec.team, branch: branch, by: caller)
        } catch let e as PaddockError where e.code == .permissionDenied || e.code == .notFound {
            return AutomationDecision(
                decision: .refused, reason: e.message, prompt: prompt, missing: missing, countsAsFailure: true)
        }
        return AutomationDecision(
            decision: dryRun ? .started : .pending, reason: nil, prompt: prompt, missing: missing)
    }

    /// Takes a stored invocation from `pending` to a decision, starting the work if it passes. Runs at most once
    /// per invocation at a time; a run already started for it (found by the session's name after a crash) is
    /// adopted rather than started again.
    func process(_ id: String, recovering: Bool) async {
        guard processing.insert(id).inserted else { return }
        defer { processing.remove(id) }
        do {
            guard var invocation = try await store.invocation(id) else { return }
            if invocation.decision == .started {
                if invocation.finishedAt == nil { await follow(invocation) }
                return
            }
            guard invocation.decision == .pending else { return }
            guard let automation = try await store.automation(invocation.automation) else { return }
            // Only an invocation from before a restart can have a session already.
            if recovering, let adopted = try await adopt(&invocation) {
                logger.notice(
                    "an invocation's session was started before a restart; following it instead of starting again",
                    metadata: ["invocation.id": "\(id)", "session.id": "\(adopted)"])
                await follow(invocation)
                return
            }
            let runAs = invocation.actAs ?? automation.spec.runAs
            let decided = try await decide(
                automation, event: try invocation.eventDocument(), runAs: runAs, branch: invocation.branch,
                dryRun: false)
            invocation.prompt = decided.prompt
            invocation.processedAt = clock()
            if decided.decision != .pending {
                invocation.decision = decided.decision
                invocation.reason = decided.reason
                try await save(&invocation, automation)
                try await audit(invocation, automation)
                if decided.countsAsFailure { await countFailure(automation.id, reason: decided.reason) }
                return
            }
            let spec = automation.spec
            do {
                let caller = try await runAsCaller(runAs, automation: automation.id)
                if let run = try await continueConversation(
                    invocation, automation, prompt: decided.prompt ?? "", caller)
                {
                    invocation.session = run.session
                    invocation.run = run.id
                } else {
                    let start = try await projects.start(
                        spec.project, prompt: decided.prompt ?? "", team: spec.team, agent: spec.agent,
                        branch: invocation.branch, pullRequest: invocation.pullRequest,
                        sessionName: invocation.sessionName, by: caller)
                    invocation.session = start.session.id
                    invocation.run = start.run.id
                }
                invocation.decision = .started
            } catch {
                let e = error.automationError
                invocation.decision = e.code == .permissionDenied ? .refused : .failed
                invocation.reason = e.message
            }
            try await save(&invocation, automation)
            try await audit(invocation, automation)
            if invocation.decision == .started {
                await follow(invocation)
            } else {
                await countFailure(automation.id, reason: invocation.reason)
            }
        } catch {
            logger.error(
                "an invocation could not be processed; it stays pending and is tried again at the next start",
                metadata: ["invocation.id": "\(id)", "error": "\(error)"])
        }
    }

    /// A later message of a conversation (a reply in a Slack thread) goes to the session its first message
    /// started, as the next prompt, when that session can still take one; nil: start a new session.
    func continueConversation(_ invocation: Invocation, _ automation: Automation, prompt: String, _ caller: Caller)
        async throws -> Run?
    {
        guard let conversation = invocation.conversation, let runs = projects.runs,
            let earlier = try await store.startedInvocation(automation: automation.id, conversation: conversation),
            earlier.id != invocation.id, let session = earlier.session
        else { return nil }
        let current: Session
        do { current = try await sessions.get(session) } catch let e as PaddockError where e.code == .notFound {
            return nil
        }
        // The thread's session ended: a new one starts.
        guard current.state == .running || current.state == .paused else { return nil }
        return try await runs.start(session: session, prompt: prompt, agent: automation.spec.agent, by: caller)
    }

    /// If the invocation's session exists (the server stopped between starting it and recording that), records
    /// it as started with its run and returns the session.
    func adopt(_ invocation: inout Invocation) async throws -> SessionID? {
        let name = invocation.sessionName
        guard let session = try await sessions.list(includeEnded: true).first(where: { $0.spec.name == name })
        else { return nil }
        invocation.decision = .started
        invocation.session = session.id
        invocation.processedAt = invocation.processedAt ?? clock()
        invocation.run = try await projects.runs?.list(session: session.id).last?.id
        try await store.updateInvocation(invocation)
        return session.id
    }

    /// Waits for the invocation's run to end, then records the outcome, counts it, and reports it.
    func follow(_ started: Invocation) async {
        var invocation = started
        let automation: Automation
        do {
            guard let found = try await store.automation(invocation.automation) else { return }  // removed meanwhile
            automation = found
        } catch {
            logger.error(
                "an invocation's automation could not be read",
                metadata: ["invocation.id": "\(invocation.id)", "error": "\(error)"])
            return
        }
        if let runID = invocation.run, let runs = projects.runs {
            do {
                let run = try await withThrowingDiscardingTaskGroup(returning: Run.self) { group in
                    if let post = invocation.progressPost {
                        group.addTask { await self.reportProgress(started, run: runID, post: post) }
                    }
                    return try await runs.wait(runID)
                }
                invocation.outcome = run.status.rawValue
                invocation.reason = run.reason
            } catch {
                // Cancelled with the server: the next start follows it again.
                if Task.isCancelled { return }
                invocation.outcome = "unknown"
                invocation.reason = "the run could not be followed: \(error.automationError.message)"
            }
        } else {
            invocation.outcome = "unknown"
            invocation.reason = "the session started but its first prompt has no run on record"
        }
        // The server is stopping: the next start follows the run again rather than record a guess.
        if Task.isCancelled { return }
        invocation.finishedAt = clock()
        do { try await save(&invocation, automation) } catch {
            logger.error(
                "an invocation's outcome could not be stored; it is followed again at the next start",
                metadata: ["invocation.id": "\(invocation.id)", "error": "\(error)"])
            return
        }
        if invocation.outcome == Run.Status.completed.rawValue {
            await resetFailures(automation.id)
        } else {
            await countFailure(automation.id, reason: "run \(invocation.run ?? "-") ended \(invocation.outcome ?? "-")")
        }
    }

    /// Edits the thread's "working on it" post as the run takes steps (each tool call), until the run ends.
    /// The outbox sends only the newest edit of a burst (`topic`), so a busy agent edits, never floods.
    func reportProgress(_ invocation: Invocation, run: String, post: String) async {
        guard let runs = projects.runs else { return }
        var steps = 0
        do {
            for await event in try await runs.events(run) where event.kind == "tool_call" {
                steps += 1
                guard let message = progressMessage(invocation, post: post, steps: steps, tool: event.tool) else {
                    return
                }
                try await store.insertOutbox(message)
                wakeup.signal()
            }
        } catch is CancellationError {
            return  // the server is stopping
        } catch {
            // Progress is a courtesy: the outcome still comes, so this is only logged.
            logger.warning(
                "a run's progress could not be posted",
                metadata: ["invocation.id": "\(invocation.id)", "error": "\(error)"])
        }
    }

    func audit(_ invocation: Invocation, _ automation: Automation) async throws {
        try await sessions.orgTrail.record(
            "automation.invoke",
            [
                "automation": .string(automation.id), "invocation": .string(invocation.id),
                "trigger": .string(invocation.trigger), "decision": .string(invocation.decision.rawValue),
                "reason": .optional(invocation.reason), "human": .optional(invocation.human),
                "run_as": .string(automation.spec.runAs), "session": .optional(invocation.session?.rawValue),
                "run": .optional(invocation.run),
            ], by: .system)
    }

    // MARK: Failures

    func countFailure(_ id: String, reason: String?) async {
        do {
            try await records.withLock(id) {
                guard var automation = try await store.automation(id) else { return }
                automation.consecutiveFailures += 1
                if !automation.paused, automation.consecutiveFailures >= automation.spec.maxConsecutiveFailures {
                    automation.paused = true
                    automation.pausedReason =
                        "paused itself after \(automation.consecutiveFailures) failures in a row; the last: "
                        + (reason ?? "-")
                    logger.warning(
                        "automation paused itself",
                        metadata: ["automation.id": "\(id)", "failures": "\(automation.consecutiveFailures)"])
                    try await sessions.orgTrail.record(
                        "automation.pause",
                        ["automation": .string(id), "reason": .optional(automation.pausedReason)], by: .system)
                }
                automation.updatedAt = clock()
                try await store.updateAutomation(automation)
            }
        } catch is CancellationError {
            return  // the server is stopping
        } catch {
            logger.error(
                "an automation's failure count could not be stored",
                metadata: ["automation.id": "\(id)", "error": "\(error)"])
        }
    }

    func resetFailures(_ id: String) async {
        do {
            try await records.withLock(id) {
                guard var automation = try await store.automation(id), automation.consecutiveFailures > 0 else {
                    return
                }
                automation.consecutiveFailures = 0
                try await store.updateAutomation(automation)
            }
        } catch is CancellationError {
            return  // the server is stopping
        } catch {
            logger.error(
                "an automation's failure count could not be reset",
                metadata: ["automation.id": "\(id)", "error": "\(error)"])
        }
    }

    // MARK: Restart

    /// What was stored and not finished when the server stopped: pending events are processed now, started
    /// ones are followed to their outcome.
    func resumeUnfinished() async {
        do {
            let unfinished = try await store.unfinishedInvocations()
            if !unfinished.isEmpty {
                logger.info(
                    "picking up invocations stored before the restart", metadata: ["count": "\(unfinished.count)"])
            }
            for invocation in unfinished { schedule(invocation.id, recovering: true) }
        } catch {
            logger.error(
                "stored invocations could not be read; they are tried at the next start",
                metadata: ["error": "\(error)"])
        }
    }
}

extension Error {
    /// The error as a history can show it: our own errors as they are, anything else without its internals.
    var automationError: PaddockError {
        (self as? PaddockError) ?? PaddockError(.internal, "an internal error; the server log has the cause")
    }
}
