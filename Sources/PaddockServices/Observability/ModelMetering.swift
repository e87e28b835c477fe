import Foundation
import Logging
import PaddockCore
import PaddockGateway
import PaddockObservability
import PaddockStore

/// Keeps what the gateway metered of each model call: a stored record (session, run, team, project, model,
/// tokens, cost by the price table, latency, status), the metrics, the run's metered total — and the budgets.
/// When a run's cost limit or its team's monthly budget is spent, the session's gateway refuses further model
/// calls with a reason the agent sees; the sandbox keeps running.
public actor ModelMetering {
    let sessions: SessionService
    let store: any ModelCallStore
    let runs: RunService
    let logger: Logger

    public init(sessions: SessionService, store: any ModelCallStore, runs: RunService, logger: Logger) {
        self.sessions = sessions
        self.store = store
        self.runs = runs
        self.logger = logger
    }

    /// Starts metering the calls of every session's gateway.
    public func connect() async {
        await sessions.network?.metrics?.setModelCallRecorder { event in await self.record(event) }
    }

    func record(_ event: GatewayAuditEvent) async {
        guard let id = SessionID(rawValue: event.session) else { return }
        guard let usage = event.modelUsage else {
            // A model call the gateway refused because a budget is spent: the run that made it ends plainly.
            if event.decision == "deny", event.status == 402, let run = await runs.liveRun(session: id) {
                await runs.stop(
                    run.id, .budgetExceeded, event.reason ?? "a model call was refused: its budget is spent")
            }
            return
        }
        let session: Session?
        do { session = try await sessions.store.session(id) } catch {
            logger.warning(
                "metering: could not read the session of a model call; it is recorded without its team",
                metadata: ["session.id": "\(id)", "error": "\(error)"])
            session = nil
        }
        let run = await runs.liveRun(session: id)
        let latency = max(0, Date().timeIntervalSince(event.time))
        let call = ModelCall(
            at: event.time, session: id, run: run?.id, team: session?.team, project: session?.spec.project,
            api: usage.api, host: event.host, model: usage.model, usage: usage.tokens,
            costUSD: runs.configuration.prices.cost(of: usage.tokens, model: usage.model),
            latencyMilliseconds: Int(latency * 1000), status: event.status, metered: usage.metered)
        PaddockMetrics.modelCall(
            team: call.team, project: call.project, agent: run?.agent, model: call.model, status: call.status,
            tokens: call.usage, costUSD: call.costUSD, duration: .milliseconds(call.latencyMilliseconds))
        do { try await store.insertModelCall(call) } catch {
            logger.error(
                "metering: could not store a model call", metadata: ["session.id": "\(id)", "error": "\(error)"])
        }
        if let run { await runs.addMetered(call, to: run.id) }
        await enforceBudgets(session: id, team: call.team, run: run)
    }

    /// Refuses the session's model calls once its run's cost limit or its team's monthly budget is spent.
    func enforceBudgets(session id: SessionID, team: String?, run: Run?) async {
        var reason: String?
        if let run, let limit = runs.configuration.limits.maxCostUSD {
            let metered = await runs.liveRun(session: id)?.metered?.costUSD ?? run.metered?.costUSD ?? 0
            if metered >= limit {
                reason =
                    "run \(run.id) spent $\(RunLimits.dollars(metered)) of its $\(RunLimits.dollars(limit)) limit "
                    + "on model calls (metered at the gateway); no further model call is allowed in this session"
            }
        }
        if reason == nil, let limit = runs.configuration.limits.maxSessionCostUSD {
            do {
                let spent = try await store.modelCallTotals(run: nil, session: id, team: nil, since: nil).costUSD
                if spent >= limit {
                    reason =
                        "session \(id) spent $\(RunLimits.dollars(spent)) of its $\(RunLimits.dollars(limit)) limit on "
                        + "model calls (metered at the gateway); no further model call is allowed in this session"
                }
            } catch {
                logger.error(
                    "metering: could not read the session's spending; its limit is not checked for this call",
                    metadata: ["session.id": "\(id)", "error": "\(error)"])
            }
        }
        if reason == nil {
            do {
                if let budget = try await runs.budget(team: team) {
                    let since = RunConfiguration.monthStart(of: Date())
                    let metered = try await store.modelCallTotals(run: nil, session: nil, team: team, since: since)
                    let spent = max(metered.costUSD, try await runs.spending(team: team, since: since))
                    if spent >= budget {
                        let who = team.map { "team \($0)" } ?? "sessions without a team"
                        reason =
                            "\(who) spent $\(RunLimits.dollars(spent)) of its $\(RunLimits.dollars(budget)) monthly "
                            + "budget on model calls; no further model call is allowed until the 1st (UTC) — ask a "
                            + "Paddock admin to raise it"
                    }
                }
            } catch {
                logger.error(
                    "metering: could not read the team's spending; its budget is not checked for this call",
                    metadata: ["session.id": "\(id)", "error": "\(error)"])
            }
        }
        guard let reason, let gateway = await sessions.network?.gateway.session(id) else { return }
        if gateway.modelCallRefusal == nil {
            gateway.refuseModelCalls(reason)
            logger.notice(
                "model calls refused: budget spent", metadata: ["session.id": "\(id)", "reason": "\(reason)"])
        }
        // The agent is stopped now rather than left to fail on its next call; the sandbox keeps running.
        if let run { await runs.stop(run.id, .budgetExceeded, reason + "; stopped") }
    }
}
