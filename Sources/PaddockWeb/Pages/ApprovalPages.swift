import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// The approvals inbox: what an agent asks a person for, in which session, with context; approve or deny
/// with a note.
extension WebRoutes {
    struct ApprovalRow: Sendable {
        var id: String
        var session: String
        var sessionTitle: String
        var kind: String
        var what: String
        var rule: String
        var asked: String
        var expires: String
    }

    struct ApprovalsPage: Sendable {
        var chrome: Chrome
        var approvals: [ApprovalRow]
    }

    func approvals(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        var rows: [ApprovalRow] = []
        for approval in try await sessions.guardrails.approvals.list(session: nil, includeAnswered: false) {
            // Only what the person may answer, on sessions they may see.
            let session: Session
            do { session = try await sessions.get(approval.session, for: person.caller, needs: .approve) } catch let e
                as PaddockError where e.code == .notFound || e.code == .permissionDenied
            { continue }
            let latest = try await runs?.list(session: session.id, limit: 1).first
            rows.append(
                ApprovalRow(
                    id: approval.id, session: session.id.rawValue, sessionTitle: Self.title(session, latest),
                    kind: approval.kind == "network" ? "Connect to" : "Run", what: approval.subject,
                    rule: approval.rule, asked: Self.day.string(from: approval.requestedAt),
                    expires: Self.day.string(from: approval.expiresAt)))
        }
        return try pages.page(
            "approvals", ApprovalsPage(chrome: try await chrome(person, tab: "approvals"), approvals: rows))
    }

    func answer(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        guard let id = context.parameters.get("id") else { throw HTTPError(.notFound) }
        let form = try await FormFields.read(request)
        let approvals = sessions.guardrails.approvals
        guard let approval = try await approvals.approval(id) else {
            throw HTTPError(.notFound, message: "That request no longer exists.")
        }
        let session = try await sessions.get(approval.session, for: person.caller, needs: .read)
        let note = form["note"].flatMap { $0.isEmpty ? nil : $0 }
        _ = try await approvals.answer(
            id: id, approve: form["decision"] == "approve", note: note, by: person.caller, team: session.team)
        return .redirect(to: form["back"] == "session" ? "/sessions/\(session.id)" : "/approvals", type: .found)
    }

    /// Tells the inbox each time a request opens or is answered (anywhere: the page then reads its own list
    /// again, which shows only what the person may answer), so nobody has to reload it.
    func approvalsLive(_ request: Request, _ context: Context) async throws -> Response {
        _ = try context.person()
        let changes = await sessions.guardrails.approvals.inboxChanges()
        let body = ResponseBody { writer in
            try await withThrowingTaskGroup(of: Void.self) { group in
                let (beats, beat) = AsyncStream.makeStream(of: Bool.self)
                group.addTask {
                    for await _ in changes { beat.yield(true) }
                }
                group.addTask { try await ServerSentEvents.every(.seconds(15)) { _ in beat.yield(false) } }
                for await changed in beats {
                    try await writer.write(
                        changed ? try ServerSentEvents.message("changed", ["at": Date()]) : ServerSentEvents.heartbeat)
                }
            }
        }
        return Response(status: .ok, headers: ServerSentEvents.headers, body: body)
    }
}
