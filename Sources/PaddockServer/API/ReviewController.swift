import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices

/// `POST /v1/sessions/{id}/submit` and the review queue: `/v1/reviews` (list), `/v1/reviews/{id}` (show) and
/// `…/approve`, `…/reject`, `…/merge`. A review belongs to its session's team: callers who may not see that team
/// get 404, and deciding needs `approve` on it (checked here, since the path names the review, not the session).
struct ReviewController {
    let reviews: ReviewService
    let changes: ChangeService

    func addRoutes(to router: Router<PaddockRequestContext>) {
        router.post("/v1/sessions/:id/submit", use: submit)
        let group = router.group("/v1/reviews")
        group.get(use: list)
        group.get(":review", use: show)
        group.post(":review/approve") { request, context in
            try await decide(request, context) { id, note, caller in
                try await reviews.approve(id, note: note, by: caller)
            }
        }
        group.post(":review/reject") { request, context in
            try await decide(request, context) { id, note, caller in
                try await reviews.reject(id, note: note, by: caller)
            }
        }
        group.post(":review/merge") { request, context in
            try await decide(request, context) { id, _, caller in try await reviews.merge(id, by: caller) }
        }
    }

    @Sendable func submit(_ request: Request, context: PaddockRequestContext) async throws -> SubmitBody {
        let id = try context.sessionID()
        var body = SubmitRequestBody()
        if let length = request.headers[.contentLength].flatMap(Int.init), length > 0 {
            body = try await request.decode(as: SubmitRequestBody.self, context: context)
        }
        return SubmitBody(
            try await changes.submit(id, message: body.message, branch: body.branch, by: try context.caller()))
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> ReviewListBody {
        let all = request.uri.queryParameters.get("all").map { $0 == "true" || $0 == "1" } ?? false
        var session: SessionID?
        if let raw = request.uri.queryParameters.get("session") {
            guard let id = SessionID(rawValue: String(raw)) else {
                throw PaddockError.notFound("session \(raw) does not exist (ids are lowercase letters and digits)")
            }
            session = id
        }
        let visible = try await reviews.list(session: session, all: all, for: try context.caller())
        return ReviewListBody(reviews: visible.map(ReviewBody.init))
    }

    @Sendable func show(_ request: Request, context: PaddockRequestContext) async throws -> ReviewDetailBody {
        ReviewDetailBody(try await reviews.detail(context.parameters.get("review") ?? "", for: try context.caller()))
    }

    private func decide(
        _ request: Request, _ context: PaddockRequestContext,
        _ act: (String, String?, Caller) async throws -> Review
    ) async throws -> ReviewBody {
        let id = context.parameters.get("review") ?? ""
        var note: String?
        if let length = request.headers[.contentLength].flatMap(Int.init), length > 0 {
            note = try await request.decode(as: ReviewDecisionBody.self, context: context).note
        }
        if let text = note, text.count > 2000 {
            throw PaddockError.invalidArgument("the note is longer than 2000 characters; shorten it")
        }
        return ReviewBody(try await act(id, note, try context.caller()))
    }
}
