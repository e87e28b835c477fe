import Foundation
import PaddockCore

/// Records every request through the gateway in the session's hash-chained audit trail (`network.request`
/// events, secrets by name only), and hands it on to another sink (the per-session JSON Lines file).
public struct AuditTrailGatewaySink: GatewayAuditSink {
    let audit: any AuditRecorder
    let next: (any GatewayAuditSink)?

    public init(audit: any AuditRecorder, next: (any GatewayAuditSink)? = nil) {
        self.audit = audit
        self.next = next
    }

    /// Hands the event on and appends it to the audit trail; either failing throws (the append failing first),
    /// after both were tried.
    public func record(_ event: GatewayAuditEvent) async throws {
        var forwarding: (any Error)?
        do { try await next?.record(event) } catch { forwarding = error }
        guard let session = SessionID(rawValue: event.session) else {
            // No chain to add it to: only the next sink keeps it.
            if let forwarding { throw forwarding }
            return
        }
        var fields: [String: AuditValue] = [
            "method": .string(event.method), "host": .string(event.host), "port": .int(Int64(event.port)),
            "mode": .string(event.mode), "decision": .string(event.decision),
            "bytes_up": .int(Int64(event.bytesUp)), "bytes_down": .int(Int64(event.bytesDown)),
        ]
        if let path = event.path { fields["path"] = .string(path) }
        if let status = event.status { fields["status"] = .int(Int64(status)) }
        if let rule = event.rule { fields["rule"] = .string(rule) }
        if let reason = event.reason { fields["reason"] = .string(reason) }
        if !event.secretsInjected.isEmpty { fields["secrets"] = .list(event.secretsInjected.map { .string($0) }) }
        if !event.placeholderMisuse.isEmpty {
            fields["placeholder_misuse"] = .list(event.placeholderMisuse.map { .string($0) })
        }
        // The sandbox's processes made the request. A failed append is thrown for the gateway to log; it does not
        // take the gateway down.
        try await audit.record(
            session: session, kind: "network.request", actor: AuditActor(user: "sandbox", token: nil), fields: fields)
        // Each MCP tool call as it went over the wire, beside the agent's own account of it (`mcp.tool_call`).
        for call in event.mcpCalls ?? [] {
            var callFields: [String: AuditValue] = [
                "server": .string(call.server), "tool": .string(call.tool), "host": .string(event.host),
                "decision": .string(event.decision),
            ]
            if let arguments = call.arguments { callFields["arguments"] = .string(arguments) }
            if call.truncated { callFields["arguments_truncated"] = .bool(true) }
            if let status = event.status { callFields["status"] = .int(Int64(status)) }
            try await audit.record(
                session: session, kind: "network.mcp_tool_call", actor: AuditActor(user: "sandbox", token: nil),
                fields: callFields)
        }
        if let forwarding { throw forwarding }
    }
}
