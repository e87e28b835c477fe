import PaddockCore
import PaddockStore

/// The organisation's audit trail: every change to people, teams, tokens, org limits, secrets, templates,
/// pools and emergency stops, hash-chained like a session's trail (under `SessionID.organization`) and
/// verified the same way (`paddock audit verify org`). Services record into it before they report the
/// change done; a trail that cannot be written refuses the change.
public struct OrgTrail: Sendable {
    let audit: AuditLog?

    public init(audit: AuditLog?) { self.audit = audit }

    public func record(_ kind: String, _ fields: [String: AuditValue], by caller: Caller) async throws {
        try await audit?.record(session: .organization, kind: kind, actor: caller.actor, fields: fields)
    }
}
