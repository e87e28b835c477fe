import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices

/// Snapshots and forks: `/v1/sessions/{id}/snapshots`, `/v1/sessions/{id}/fork` and `/v1/snapshots`.
struct SnapshotController {
    let snapshots: SnapshotService

    func addRoutes(sessions group: RouterGroup<PaddockRequestContext>, snapshots: RouterGroup<PaddockRequestContext>) {
        group.post(":id/snapshots", use: create)
        group.post(":id/fork", use: fork)
        snapshots.get(use: list)
        snapshots.get(":snapshot", use: get)
        snapshots.delete(":snapshot", use: delete)
    }

    @Sendable func create(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        SnapshotBody
    > {
        let body = try await Self.optionalBody(CreateSnapshotBody.self, request, context) ?? CreateSnapshotBody()
        let snapshot = try await snapshots.take(
            try context.sessionID(), name: body.name, keeps: try Snapshot.Keeps(parsing: body.keeps ?? "files"),
            by: try context.caller())
        return EditedResponse(status: .created, response: SnapshotBody(snapshot))
    }

    @Sendable func fork(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        SessionListBody
    > {
        let body = try await Self.optionalBody(ForkBody.self, request, context) ?? ForkBody()
        let children = try await snapshots.fork(
            try context.sessionID(), count: body.count ?? 1,
            keeps: try Snapshot.Keeps(parsing: body.keeps ?? "files"), by: try context.caller())
        return EditedResponse(status: .created, response: SessionListBody(sessions: children.map(SessionBody.init)))
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> SnapshotListBody {
        // Snapshots of teams the caller is not in are left out, as if they did not exist.
        let visible = try await snapshots.list(for: try context.caller())
        return SnapshotListBody(snapshots: visible.map(SnapshotBody.init))
    }

    @Sendable func get(_ request: Request, context: PaddockRequestContext) async throws -> SnapshotBody {
        SnapshotBody(
            try await snapshots.get(
                try context.requiredParameter("snapshot", "snapshot id or name"), for: try context.caller(),
                needs: .read))
    }

    @Sendable func delete(_ request: Request, context: PaddockRequestContext) async throws -> SnapshotBody {
        SnapshotBody(
            try await snapshots.delete(
                try context.requiredParameter("snapshot", "snapshot id or name"), by: try context.caller()))
    }

    /// A JSON body that may be left out entirely.
    static func optionalBody<T: Decodable>(_ type: T.Type, _ request: Request, _ context: PaddockRequestContext)
        async throws -> T?
    {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 16)
        guard buffer.readableBytes > 0 else { return nil }
        return try await request.decode(as: type, context: context)
    }
}
