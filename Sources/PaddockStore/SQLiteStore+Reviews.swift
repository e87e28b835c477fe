import Foundation
import GRDB
import PaddockCore

extension SQLiteStore: ReviewStore {
    static func registerReviewMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("reviews: submitted changes and their decisions") { db in
            try db.create(table: "review") { t in
                t.primaryKey("id", .text)
                t.column("session", .text).notNull().indexed()
                t.column("state", .text).notNull().indexed()
                t.column("createdAt", .datetime).notNull()
                t.column("body", .text).notNull()
            }
        }
    }

    public func insertReview(_ review: Review) async throws {
        let row = try ReviewRow(review)
        try await write { db in try row.insert(db) }
    }

    public func updateReview(_ review: Review) async throws {
        let row = try ReviewRow(review)
        try await write { db in
            do { try row.update(db) } catch is RecordError {
                throw PaddockError.notFound("review \(review.id) does not exist")
            }
        }
    }

    public func review(id: String) async throws -> Review? {
        try await read { db in try ReviewRow.fetchOne(db, key: id) }.map { try $0.review() }
    }

    public func reviews(session: SessionID?, states: Set<Review.State>?) async throws -> [Review] {
        let rows = try await read { db in
            var request = ReviewRow.order(Column("createdAt").desc, Column("id"))
            if let session { request = request.filter(Column("session") == session.rawValue) }
            if let states { request = request.filter(states.map(\.rawValue).contains(Column("state"))) }
            return self.readable(try Row.fetchAll(db, request), "review") { try ReviewRow(row: $0).review() }
        }
        return rows
    }
}

/// The review as JSON in `body`; the columns queries filter on are copied out of it.
private struct ReviewRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "review"
    var id: String
    var session: String
    var state: String
    var createdAt: Date
    var body: String

    init(_ r: Review) throws {
        id = r.id
        session = r.session.rawValue
        state = r.state.rawValue
        createdAt = r.createdAt
        body = String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
    }

    func review() throws -> Review {
        do { return try JSONDecoder().decode(Review.self, from: Data(body.utf8)) } catch {
            throw PaddockError.internal("review \(id) is stored in a form this server cannot read", underlying: error)
        }
    }
}
