import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockServices
import PaddockStore

/// A session's audit trail: `GET /v1/sessions/{id}/audit` (JSON Lines, each line an event's canonical bytes,
/// so the SHA-256 of one line is the next line's `prev`) and `GET …/audit/verify`.
struct AuditController {
    let sessions: SessionService

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.get(":id/audit", use: events)
        group.get(":id/audit/verify", use: verify)
    }

    /// The organisation's trail: `GET /v1/audit`, `GET /v1/audit/verify` (owners and admins: the route table
    /// gives unlisted `/v1` paths the `admin` requirement).
    func addOrgRoutes(to router: Router<PaddockRequestContext>) {
        router.get("/v1/audit") { _, _ in try await Self.export(try await log(), .organization) }
        router.get("/v1/audit/verify") { _, _ in try await log().verify(session: .organization) }
    }

    static func export(_ log: AuditLog, _ id: SessionID) async throws -> Response {
        let bytes = try await log.export(session: id)
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private func log() async throws -> AuditLog {
        guard let audit = sessions.audit else {
            throw PaddockError.unavailable("this server's store keeps no audit trail")
        }
        return audit
    }

    @Sendable func events(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        try await Self.export(try await log(), try context.sessionID())
    }

    @Sendable func verify(_ request: Request, context: PaddockRequestContext) async throws -> AuditVerification {
        try await log().verify(session: context.sessionID())
    }
}
