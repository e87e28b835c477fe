import Foundation
import Hummingbird
import PaddockCore

/// `POST /v1/sessions/{id}/submit` and the review queue: `/v1/reviews` (list), `/v1/reviews/{id}` (show) and
/// `…/approve`, `…/reject`, `…/merge`. A review belongs to its session's team: callers who may not see that team
/// get 404, and deciding needs `approve` on it (checked here, since the path names the review, not the session).
struct ReviewController {
    let sessions: SessionService
    let authorizer: Authorizer

    func addRoutes(to router: Router<PaddockRequestContext>) {
        router.post("/v1/sessions/:id/submit", use: submit)
        let reviews = router.group("/v1/reviews")
        reviews.get(use: list)
        reviews.get(":review", use: show)
        reviews.post(":review/approve") { request, context in
            try await decide(request, context) { id, user, note in
                try await sessions.approveReview(id, by: user, note: note)
            }
        }
        reviews.post(":review/reject") { request, context in
            try await decide(request, context) { id, user, note in
                try await sessions.rejectReview(id, by: user, note: note)
            }
        }
        reviews.post(":review/merge") { request, context in
            try await decide(request, context) { id, _, _ in try await sessions.mergeReview(id) }
        }
    }

    @Sendable func submit(_ request: Request, context: PaddockRequestContext) async throws -> SubmitBody {
        let id = try context.sessionID()
        var body = SubmitRequestBody()
        if let length = request.headers[.contentLength].flatMap(Int.init), length > 0 {
            body = try await request.decode(as: SubmitRequestBody.self, context: context)
        }
        return try await sessions.submit(
            id, message: body.message, branch: body.branch, by: context.principal?.user ?? context.tokenName)
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> ReviewListBody {
        let principal = try context.requirePrincipal()
        let all = request.uri.queryParameters.get("all").map { $0 == "true" || $0 == "1" } ?? false
        var session: SessionID?
        if let raw = request.uri.queryParameters.get("session") {
            guard let id = SessionID(rawValue: String(raw)) else {
                throw PaddockError.notFound("session \(raw) does not exist (ids are lowercase letters and digits)")
            }
            session = id
        }
        let visible = try await sessions.reviews(session: session, all: all).filter { principal.canSee(team: $0.team) }
        return ReviewListBody(reviews: visible.map(ReviewBody.init))
    }

    @Sendable func show(_ request: Request, context: PaddockRequestContext) async throws -> ReviewDetailBody {
        let review = try await visibleReview(context, needs: .read)
        return try await sessions.reviewDetail(review.id)
    }

    private func decide(
        _ request: Request, _ context: PaddockRequestContext,
        _ act: (String, String?, String?) async throws -> Review
    ) async throws -> ReviewBody {
        let review = try await visibleReview(context, needs: .approve)
        var note: String?
        if let length = request.headers[.contentLength].flatMap(Int.init), length > 0 {
            note = try await request.decode(as: ReviewDecisionBody.self, context: context).note
        }
        if let text = note, text.count > 2000 {
            throw PaddockError.invalidArgument("the note is longer than 2000 characters; shorten it")
        }
        return ReviewBody(try await act(review.id, context.principal?.user ?? context.tokenName, note))
    }

    /// The review in the path, if the caller may see its session's team and holds `permission` there.
    private func visibleReview(_ context: PaddockRequestContext, needs permission: Permission) async throws -> Review {
        let principal = try context.requirePrincipal()
        let raw = context.parameters.get("review") ?? ""
        let review = try await sessions.review(raw)
        guard principal.canSee(team: review.team) else {
            throw PaddockError.notFound("review \(raw) does not exist; `paddock reviews list` shows the open ones")
        }
        try await authorizer.authorize(principal, .session(review.session.rawValue, permission))
        return review
    }
}
