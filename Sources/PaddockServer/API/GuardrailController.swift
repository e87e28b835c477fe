import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices

/// `/v1/approvals` (list, show, approve, deny) and `/v1/sessions/{id}/diff`.
struct GuardrailController {
    let sessions: SessionService

    func addRoutes(to router: Router<PaddockRequestContext>) {
        let approvals = router.group("/v1/approvals")
        approvals.get(use: list)
        approvals.get(":approval", use: get)
        approvals.post(":approval/approve") { request, context in
            try await answer(request, context, approve: true)
        }
        approvals.post(":approval/deny") { request, context in
            try await answer(request, context, approve: false)
        }
        router.get("/v1/sessions/:id/diff", use: diff)
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> ApprovalListBody {
        let all = request.uri.queryParameters.get("all").map { $0 == "true" || $0 == "1" } ?? false
        var session: SessionID?
        if let raw = request.uri.queryParameters.get("session") {
            guard let id = SessionID(rawValue: String(raw)) else {
                throw PaddockError.notFound("session \(raw) does not exist (ids are lowercase letters and digits)")
            }
            session = id
        }
        let principal = try context.requirePrincipal()
        var teams: [SessionID: String?] = [:]
        var visible: [Approval] = []
        // Requests from sessions of teams the caller is not in are left out, as if they did not exist.
        for approval in try await sessions.guardrails.approvals.list(session: session, includeAnswered: all) {
            if teams[approval.session] == nil {
                teams[approval.session] = .some(try? await sessions.get(approval.session).team)
            }
            if let team = teams[approval.session], principal.canSee(team: team) { visible.append(approval) }
        }
        return ApprovalListBody(approvals: visible.map(ApprovalBody.init))
    }

    @Sendable func get(_ request: Request, context: PaddockRequestContext) async throws -> ApprovalBody {
        let id = try context.approvalID()
        guard let approval = try await sessions.guardrails.approvals.approval(id) else {
            throw PaddockError.notFound("approval \(id) does not exist; `paddock approvals list` shows open ones")
        }
        return ApprovalBody(approval)
    }

    func answer(_ request: Request, _ context: PaddockRequestContext, approve: Bool) async throws -> ApprovalBody {
        let id = try context.approvalID()
        var note: String?
        if let length = request.headers[.contentLength].flatMap(Int.init), length > 0 {
            note = try await request.decode(as: ApprovalAnswerBody.self, context: context).note
        }
        if let text = note, text.count > 2000 {
            throw PaddockError.invalidArgument("the note is longer than 2000 characters; shorten it")
        }
        guard let pending = try await sessions.guardrails.approvals.approval(id) else {
            throw PaddockError.notFound("approval \(id) does not exist; `paddock approvals list` shows open ones")
        }
        let team = try await sessions.get(pending.session).team
        let answered = try await sessions.guardrails.approvals.answer(
            id: id, approve: approve, note: note, by: try context.caller(), team: team)
        return ApprovalBody(answered)
    }

    @Sendable func diff(_ request: Request, context: PaddockRequestContext) async throws -> ChangeDiff {
        try await ChangeService(sessions: sessions).diff(try context.sessionID(), by: try context.caller())
    }
}

extension PaddockRequestContext {
    func approvalID() throws -> String {
        guard let raw = parameters.get("approval"), !raw.isEmpty, raw.count <= 64,
            raw.allSatisfy({ $0.isLetter || $0.isNumber })
        else {
            throw PaddockError.notFound("that approval does not exist; `paddock approvals list` shows open ones")
        }
        return raw
    }
}
