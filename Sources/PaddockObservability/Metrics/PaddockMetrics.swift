import CoreMetrics
import Metrics
import PaddockCore

/// Every metric Paddock emits, by name, with its labels. The services call these where things happen; they go
/// through swift-metrics, so without a bootstrapped backend (no `--metrics-listen`) each is a no-op.
///
/// Labels are bounded: teams, providers, templates, hosts a policy named, outcomes. Session ids label only the
/// per-session resource gauges, which `ScrapedGauges` removes when the session stops running.
public enum PaddockMetrics {
    // MARK: Sessions

    /// A session started (or failed to): `start` is `warm` or `cold`, `outcome` `ok` or `failed`.
    public static func sessionStarted(
        start: String, provider: String, team: String?, outcome: String, duration: Duration
    ) {
        let labels = [("start", start), ("provider", provider), ("team", team ?? ""), ("outcome", outcome)]
        Counter(label: "paddock_session_starts_total", dimensions: labels).increment()
        CoreMetrics.Timer(
            label: "paddock_session_start_seconds", dimensions: [("start", start), ("provider", provider)]
        ).record(duration: duration)
    }

    /// A session wanted a warm sandbox of a pooled template and found none ready.
    public static func warmPoolMiss(provider: String, template: String) {
        Counter(
            label: "paddock_warm_pool_misses_total", dimensions: [("provider", provider), ("template", template)]
        ).increment()
    }

    /// A command started in a session; `duration` is the time to start it (the call to paddock-init).
    public static func execStarted(provider: String, outcome: String, duration: Duration) {
        Counter(label: "paddock_execs_total", dimensions: [("provider", provider), ("outcome", outcome)]).increment()
        CoreMetrics.Timer(label: "paddock_exec_start_seconds", dimensions: [("provider", provider)]).record(
            duration: duration)
    }

    // MARK: Guardrails

    /// A policy decision: `kind` is `exec`, `network` or `file`; `outcome` what the policy said (allow, ask, deny).
    public static func policyDecision(kind: String, outcome: String) {
        Counter(label: "paddock_policy_decisions_total", dimensions: [("kind", kind), ("outcome", outcome)])
            .increment()
    }

    /// An approval was answered (or timed out) after `waited`.
    public static func approvalAnswered(kind: String, state: String, waited: Duration) {
        CoreMetrics.Timer(label: "paddock_approval_wait_seconds", dimensions: [("kind", kind), ("state", state)])
            .record(duration: waited)
    }

    // MARK: Gateway

    /// One request through the egress gateway and the bytes it moved each way.
    public static func gatewayRequest(decision: String, host: String, bytesUp: Int, bytesDown: Int) {
        let host = GatewayHostLabel.shared.label(for: host)
        Counter(label: "paddock_gateway_requests_total", dimensions: [("decision", decision), ("host", host)])
            .increment()
        if bytesUp > 0 {
            Counter(
                label: "paddock_gateway_bytes_total",
                dimensions: [("decision", decision), ("host", host), ("direction", "up")]
            ).increment(by: bytesUp)
        }
        if bytesDown > 0 {
            Counter(
                label: "paddock_gateway_bytes_total",
                dimensions: [("decision", decision), ("host", host), ("direction", "down")]
            ).increment(by: bytesDown)
        }
    }

    // MARK: Runs, triggers, store

    /// A run ended with `status` (succeeded, failed, cancelled, timed_out, budget_exceeded…).
    public static func runFinished(agent: String, team: String?, status: String) {
        Counter(
            label: "paddock_runs_total", dimensions: [("agent", agent), ("team", team ?? ""), ("status", status)]
        ).increment()
    }

    /// A trigger (webhook, schedule, Slack, GitHub) was invoked; `outcome` says whether it started work.
    public static func triggerInvoked(source: String, outcome: String) {
        Counter(label: "paddock_trigger_invocations_total", dimensions: [("source", source), ("outcome", outcome)])
            .increment()
    }

    /// One store operation (`read` or `write`) and how long it held the database.
    public static func storeOperation(_ operation: String, duration: Duration) {
        CoreMetrics.Timer(label: "paddock_store_operation_seconds", dimensions: [("operation", operation)]).record(
            duration: duration)
    }
}

extension PaddockMetrics {
    // MARK: Model calls

    /// A model call metered at the gateway: counted by team, project, agent, model and status; its tokens by
    /// kind, its dollars, its latency.
    public static func modelCall(
        team: String?, project: String?, agent: String?, model: String?, status: Int?, tokens: TokenUsage,
        costUSD: Double, duration: Duration
    ) {
        let who = [("team", team ?? ""), ("project", project ?? ""), ("agent", agent ?? ""), ("model", model ?? "")]
        Counter(label: "paddock_model_calls_total", dimensions: who + [("status", status.map(String.init) ?? "")])
            .increment()
        for (kind, count) in [
            ("input", tokens.input), ("output", tokens.output), ("cache_read", tokens.cacheRead),
            ("cache_write", tokens.cacheWrite),
        ] where count > 0 {
            Counter(label: "paddock_model_tokens_total", dimensions: who + [("kind", kind)]).increment(by: count)
        }
        if costUSD > 0 {
            FloatingPointCounter(label: "paddock_model_cost_dollars_total", dimensions: who).increment(by: costUSD)
        }
        CoreMetrics.Timer(label: "paddock_model_call_seconds", dimensions: [("model", model ?? "")]).record(
            duration: duration)
    }
}
