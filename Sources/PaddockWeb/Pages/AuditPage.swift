import Foundation
import Hummingbird
import PaddockCore
import PaddockServices
import PaddockStore

/// A session's hash-chained audit trail: every event with who did it, whether the chain verifies, and the
/// export (JSON Lines, one canonical event per line: anyone can check it without Paddock).
extension WebRoutes {
    struct AuditRow: Sendable {
        var seq: Int64
        var time: String
        var kind: String
        var actor: String
        var fields: String
    }

    struct AuditPage: Sendable {
        var chrome: Chrome
        var sessionID: String
        var verified: Bool
        var verification: String
        var events: [AuditRow]
        /// The session's runs, each with a step-by-step replay.
        var runs: [RunSummary]
    }

    func auditPage(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let id = try sessionID(context)
        let (audit, _) = try await readableAudit(id, person)
        let check = try await audit.verify(session: id)
        let rows = try await audit.events(session: id).map { event in
            AuditRow(
                seq: event.seq, time: Self.day.string(from: event.date) + ":" + Self.seconds.string(from: event.date),
                kind: event.kind, actor: event.actor.description,
                fields: event.fields.keys.sorted().map { "\($0)=\(event.fields[$0]?.description ?? "")" }.joined(
                    separator: "  "))
        }
        let verification =
            check.ok
            ? "The chain of \(check.events) events verifies: none was changed, removed or reordered."
            : "The chain does not verify at event \(check.position.map(String.init) ?? "?"): \(check.problem ?? "")"
        return try pages.page(
            "audit",
            AuditPage(
                chrome: try await chrome(person, tab: "sessions"), sessionID: id.rawValue, verified: check.ok,
                verification: verification, events: rows,
                runs: try await runs?.list(session: id).map(Self.summary) ?? []))
    }

    func auditExport(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let id = try sessionID(context)
        let (audit, _) = try await readableAudit(id, person)
        var headers = SecurityHeaders.common
        headers[.contentType] = "application/x-ndjson"
        headers[.contentDisposition] = "attachment; filename=\"paddock-audit-\(id).jsonl\""
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try await audit.export(session: id))))
    }

    /// The trail of a session the person may read (others' sessions are not found).
    private func readableAudit(_ id: SessionID, _ person: SignedIn) async throws -> (AuditLog, Session) {
        let session = try await sessions.get(id, for: person.caller, needs: .read)
        guard let audit = sessions.audit else {
            throw HTTPError(.serviceUnavailable, message: "This server keeps no audit trail.")
        }
        return (audit, session)
    }

    static var seconds: DateFormatter {
        let f = DateFormatter()
        f.dateFormat = "ss"
        f.timeZone = TimeZone(identifier: "UTC")
        return f
    }
}
