import PaddockCore
import PaddockGateway
import PaddockObservability
import Synchronization
import Tracing

/// Counts every request through the egress gateway (by decision and host), its bytes, and the network policy's
/// decision, then hands the event on to the audit sinks. Also keeps each session's byte totals, which the
/// metrics collector publishes while the session runs.
public final class MetricsGatewaySink: GatewayAuditSink {
    let next: any GatewayAuditSink
    private let perSession = Mutex<[String: (up: Int, down: Int)]>([:])
    private let modelCalls = Mutex<(@Sendable (GatewayAuditEvent) async -> Void)?>(nil)

    public init(next: any GatewayAuditSink) { self.next = next }

    public func record(_ event: GatewayAuditEvent) async throws {
        PaddockMetrics.gatewayRequest(
            decision: event.decision, host: event.host, bytesUp: event.bytesUp, bytesDown: event.bytesDown)
        PaddockMetrics.policyDecision(kind: "network", outcome: event.decision)
        perSession.withLock {
            let total = $0[event.session] ?? (0, 0)
            $0[event.session] = (total.up + event.bytesUp, total.down + event.bytesDown)
        }
        if PaddockTracing.isEnabled { Self.trace(event) }
        if event.modelUsage != nil, let recorder = modelCalls.withLock({ $0 }) { await recorder(event) }
        try await next.record(event)
    }

    /// One span for the request, timed by the gateway, in the trace of the session's run when one is going.
    /// The path is left out: a query string can carry a key.
    static func trace(_ event: GatewayAuditEvent) {
        let run = RunTraces.shared.entry(session: event.session)
        let span = startSpan(
            "gateway \(event.method)", at: WallClockInstant(event.time), context: run?.context ?? .topLevel,
            ofKind: .client)
        PaddockTracing.tag(span, session: event.session, run: run?.run)
        span.updateAttributes { attributes in
            attributes["server.address"] = event.host
            attributes["server.port"] = Int(event.port)
            attributes["paddock.gateway.decision"] = event.decision
            attributes["paddock.gateway.mode"] = event.mode
            attributes["paddock.gateway.bytes_up"] = event.bytesUp
            attributes["paddock.gateway.bytes_down"] = event.bytesDown
            if let status = event.status { attributes["http.response.status_code"] = status }
            if let usage = event.modelUsage {
                attributes["gen_ai.request.model"] = usage.model
                attributes["gen_ai.usage.input_tokens"] = usage.tokens.input
                attributes["gen_ai.usage.output_tokens"] = usage.tokens.output
            }
        }
        if event.decision == "deny" { span.setStatus(SpanStatus(code: .error, message: "refused by policy")) }
        span.end()
    }

    /// Where metered model calls go (`ModelMetering`), set once the services exist.
    func setModelCallRecorder(_ recorder: @escaping @Sendable (GatewayAuditEvent) async -> Void) {
        modelCalls.withLock { $0 = recorder }
    }

    /// Bytes the session moved through the gateway so far.
    func networkBytes(session: String) -> (up: Int, down: Int) {
        perSession.withLock { $0[session] ?? (0, 0) }
    }

    /// Bytes each session moved through the gateway so far; sessions not in `keeping` are forgotten.
    func networkBytes(keeping sessions: Set<String>) -> [String: (up: Int, down: Int)] {
        perSession.withLock { totals in
            totals = totals.filter { sessions.contains($0.key) }
            return totals
        }
    }
}
