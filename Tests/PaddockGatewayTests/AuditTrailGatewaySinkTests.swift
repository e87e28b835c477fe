import Foundation
import PaddockCore
import PaddockGateway
import Synchronization
import Testing

/// Gateway requests reach the audit trail as `network.request` events, with secrets by name only, and are
/// still handed to the next sink.
struct AuditTrailGatewaySinkTests {
    final class Recorder: AuditRecorder, GatewayAuditSink {
        let recorded = Mutex<[(SessionID, String, AuditActor, [String: AuditValue])]>([])
        let forwarded = Mutex<[GatewayAuditEvent]>([])
        func record(session: SessionID, kind: String, actor: AuditActor, fields: [String: AuditValue]) async throws {
            recorded.withLock { $0.append((session, kind, actor, fields)) }
        }
        func record(_ event: GatewayAuditEvent) async { forwarded.withLock { $0.append(event) } }
    }

    @Test func requestsAreRecordedInTheAuditTrailAndForwarded() async throws {
        let recorder = Recorder()
        let sink = AuditTrailGatewaySink(audit: recorder, next: recorder)
        var event = GatewayAuditEvent(
            session: "abc123", method: "POST", host: "api.example.com", port: 443, path: "/v1/messages",
            mode: "intercept", decision: "allow", rule: "allow by rule 'api.example.com'")
        event.status = 200
        event.bytesUp = 120
        event.bytesDown = 900
        event.secretsInjected = ["ANTHROPIC_API_KEY"]
        await sink.record(event)

        let recorded = recorder.recorded.withLock { $0 }
        let (session, kind, actor, fields) = try #require(recorded.first)
        #expect(session.rawValue == "abc123" && kind == "network.request" && actor.user == "sandbox")
        #expect(fields["host"] == .string("api.example.com") && fields["port"] == .int(443))
        #expect(fields["path"] == .string("/v1/messages") && fields["status"] == .int(200))
        #expect(fields["decision"] == .string("allow") && fields["secrets"] == .list([.string("ANTHROPIC_API_KEY")]))
        #expect(recorder.forwarded.withLock { $0 } == [event])

        // An event that names no valid session is forwarded but not recorded (there is no chain to add it to).
        await sink.record(
            GatewayAuditEvent(session: "../x", method: "GET", host: "h", port: 80, mode: "http", decision: "deny"))
        #expect(recorder.recorded.withLock { $0.count } == 1)
        #expect(recorder.forwarded.withLock { $0.count } == 2)
    }
}
