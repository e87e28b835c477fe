import PaddockCore

/// Durable reviews of submitted changes.
public protocol ReviewStore: Sendable {
    func insertReview(_ review: Review) async throws
    /// Replaces a stored review; `notFound` if it was never inserted.
    func updateReview(_ review: Review) async throws
    func review(id: String) async throws -> Review?
    /// Newest first; one session's when given; only these states when given.
    func reviews(session: SessionID?, states: Set<Review.State>?) async throws -> [Review]
}
