import Foundation
import PaddockCore

/// Records every exec decision in the session's hash-chained audit trail (and the log), durably, before the
/// exec is answered: what ran or was refused inside the sandbox — including by the agent's own child
/// processes — is in the same timeline as the API calls.
struct AuditingGuardrailEventSink: GuardrailEventSink {
    let audit: any AuditRecorder
    let log: LoggingGuardrailEventSink

    func record(_ event: GuardrailEvent) async {
        await log.record(event)
        var fields: [String: AuditValue] = [
            "argv": .list(event.argv.map { .string($0) }),
            "paths": .list(event.executablePaths.map { .string($0) }),
            "cwd": .string(event.cwd),
            "pid": .int(Int64(event.pid)),
            "policy": .string(event.policyAction.rawValue),
            "allowed": .bool(event.allowed),
            "rule": .string(event.rule),
        ]
        if let approval = event.approval {
            fields["approval"] = .object([
                "id": .string(approval.id), "state": .string(approval.state.rawValue),
                "by": approval.decidedBy.map { .string($0) } ?? .null,
                "at": approval.decidedAt.map { .string(ISO8601DateFormatter().string(from: $0)) } ?? .null,
                "note": approval.note.map { .string($0) } ?? .null,
            ])
        }
        do {
            // The process inside the sandbox acted, not an API caller.
            try await audit.record(
                session: event.session, kind: "\(event.kind).guardrail",
                actor: AuditActor(user: "sandbox", token: nil), fields: fields)
        } catch {
            log.logger.error(
                "could not record an exec decision in the audit trail",
                metadata: ["session.id": "\(event.session)", "error": "\(error)"])
        }
    }
}
