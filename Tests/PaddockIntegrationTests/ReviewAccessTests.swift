import Foundation
import HTTPTypes
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import Testing

/// Who may see and decide reviews, through the production router (no sandboxes: reviews are stored rows).
struct ReviewAccessTests {
    static func review(session: String, team: String) throws -> Review {
        Review(
            id: Review.makeID(), session: try SessionID(validating: session), team: team, repository: "/srv/repo.git",
            targetBranch: "main", branch: "paddock/\(session)", base: "b", commit: "c", message: "Change",
            linesChanged: 3,
            filesChanged: 1, report: "{}", createdBy: "alice", createdAt: Date())
    }

    @Test func reviewsAreSeenAndDecidedByTheirTeamOnly() async throws {
        try await RBACTests.withOrg { org in
            let ra = try Self.review(session: try #require(org.sessions["sa"]), team: "a")
            let rb = try Self.review(session: try #require(org.sessions["sb"]), team: "b")
            try await org.store.insertReview(ra)
            try await org.store.insertReview(rb)

            // Lists show only the caller's teams' reviews; another team's review is as if it did not exist.
            let bobs = try await RBACTests.call(org, .get, "/v1/reviews", as: org.tokens["bob"] ?? "")
            let list = try APICoding.decoder().decode(ReviewListBody.self, from: Data(bobs.body.readableBytesView))
            #expect(list.reviews.map(\.id) == [rb.id])
            let hidden = try await RBACTests.call(org, .get, "/v1/reviews/\(ra.id)", as: org.tokens["bob"] ?? "")
            #expect(hidden.status == .notFound)
            let hiddenApprove = try await RBACTests.call(
                org, .post, "/v1/reviews/\(ra.id)/reject", as: org.tokens["bob"] ?? "")
            #expect(hiddenApprove.status == .notFound)

            // A viewer of the team reads the review but may not decide it, nor submit.
            let shown = try await RBACTests.call(org, .get, "/v1/reviews/\(ra.id)", as: org.tokens["vic"] ?? "")
            #expect(shown.status == .ok)
            let detail = try APICoding.decoder().decode(ReviewDetailBody.self, from: Data(shown.body.readableBytesView))
            #expect(detail.review.id == ra.id && detail.runs.isEmpty)
            let refused = try await RBACTests.call(
                org, .post, "/v1/reviews/\(ra.id)/reject", as: org.tokens["vic"] ?? "")
            #expect(refused.status == .forbidden && refused.message.contains("approve"))
            let submit = try await RBACTests.call(
                org, .post, "/v1/sessions/\(ra.session.rawValue)/submit", as: org.tokens["vic"] ?? "")
            #expect(submit.status == .forbidden && submit.message.contains("submit"))

            // A member with approve rejects it; the decision is kept.
            let rejected = try await RBACTests.call(
                org, .post, "/v1/reviews/\(ra.id)/reject", as: org.tokens["alice"] ?? "", json: #"{"note": "no"}"#)
            #expect(rejected.status == .ok)
            let stored = try await org.store.review(id: ra.id)
            #expect(stored?.state == .rejected && stored?.decidedBy == "alice" && stored?.note == "no")
            let unknown = try await RBACTests.call(org, .get, "/v1/reviews/nope", as: org.tokens["owner"] ?? "")
            #expect(unknown.status == .notFound)
        }
    }
}
