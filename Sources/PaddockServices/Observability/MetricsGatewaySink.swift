import PaddockCore
import PaddockGateway
import PaddockObservability
import Synchronization

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
        if event.modelUsage != nil, let recorder = modelCalls.withLock({ $0 }) { await recorder(event) }
        try await next.record(event)
    }

    /// Where metered model calls go (`ModelMetering`), set once the services exist.
    func setModelCallRecorder(_ recorder: @escaping @Sendable (GatewayAuditEvent) async -> Void) {
        modelCalls.withLock { $0 = recorder }
    }

    /// Bytes each session moved through the gateway so far; sessions not in `keeping` are forgotten.
    func networkBytes(keeping sessions: Set<String>) -> [String: (up: Int, down: Int)] {
        perSession.withLock { totals in
            totals = totals.filter { sessions.contains($0.key) }
            return totals
        }
    }
}
