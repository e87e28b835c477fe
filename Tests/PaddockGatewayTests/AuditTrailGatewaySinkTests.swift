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
        try await sink.record(event)

        let recorded = recorder.recorded.withLock { $0 }
        let (session, kind, actor, fields) = try #require(recorded.first)
        #expect(session.rawValue == "abc123" && kind == "network.request" && actor.user == "sandbox")
        #expect(fields["host"] == .string("api.example.com") && fields["port"] == .int(443))
        #expect(fields["path"] == .string("/v1/messages") && fields["status"] == .int(200))
        #expect(fields["decision"] == .string("allow") && fields["secrets"] == .list([.string("ANTHROPIC_API_KEY")]))
        #expect(recorder.forwarded.withLock { $0 } == [event])

        // An event that names no valid session is forwarded but not recorded (there is no chain to add it to).
        try await sink.record(
            GatewayAuditEvent(session: "../x", method: "GET", host: "h", port: 80, mode: "http", decision: "deny"))
        #expect(recorder.recorded.withLock { $0.count } == 1)
        #expect(recorder.forwarded.withLock { $0.count } == 2)
    }

    struct BrokenTrail: AuditRecorder {
        func record(session: SessionID, kind: String, actor: AuditActor, fields: [String: AuditValue]) async throws {
            throw PaddockError.unavailable("the audit database is read-only")
        }
    }

    @Test func aFailedAppendIsThrownAfterTheNextSinkHadTheEvent() async throws {
        let next = Recorder()
        let sink = AuditTrailGatewaySink(audit: BrokenTrail(), next: next)
        let event = GatewayAuditEvent(
            session: "abc123", method: "GET", host: "h", port: 80, mode: "http", decision: "allow")
        await #expect(throws: PaddockError.self) { try await sink.record(event) }
        #expect(next.forwarded.withLock { $0 } == [event])
    }

    @Test func theJSONLinesSinkThrowsWhenItCannotWrite() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "paddock-jsonl-\(UInt32.random(in: 0...UInt32.max))"
        ).path
        let sink = try JSONLinesAuditSink(directory: directory)
        try FileManager.default.removeItem(atPath: directory)
        let event = GatewayAuditEvent(
            session: "abc123", method: "GET", host: "h", port: 80, mode: "http", decision: "allow")
        await #expect(throws: PaddockError.self) { try await sink.record(event) }
    }
}
