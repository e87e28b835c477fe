import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices

/// `/v1/sessions`: create, list, get, destroy, stats.
struct SessionController {
    let sessions: SessionService
    let authorizer: RouteAuthorizer

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: get)
        group.delete(":id", use: destroy)
        group.get(":id/stats", use: stats)
        group.post(":id/pause", use: pause)
        group.post(":id/resume", use: resume)
    }

    @Sendable func create(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        SessionBody
    > {
        let body = try await request.decode(as: CreateSessionBody.self, context: context)
        let spec = try body.spec()
        let principal = try context.requirePrincipal()
        let team = try await authorizer.teamForCreate(principal, requested: body.team)
        let session = try await sessions.create(
            spec, policy: body.policy, owner: SessionOwner(team: team, user: principal.user), by: Caller(principal))
        return EditedResponse(status: .created, response: SessionBody(session))
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> SessionListBody {
        let all = request.uri.queryParameters.get("all").map { $0 == "true" || $0 == "1" } ?? false
        var bodies: [SessionBody] = []
        // Sessions of teams the caller is not in are left out, as if they did not exist.
        for session in try await sessions.list(includeEnded: all, for: try context.caller()) {
            var body = SessionBody(session)
            if await sessions.awaitingApproval(session.id) { body.awaitingApproval = true }
            bodies.append(body)
        }
        return SessionListBody(sessions: bodies)
    }

    @Sendable func get(_ request: Request, context: PaddockRequestContext) async throws -> SessionBody {
        let id = try context.sessionID()
        var body = SessionBody(try await sessions.get(id, for: try context.caller(), needs: .read))
        if await sessions.awaitingApproval(id) { body.awaitingApproval = true }
        return body
    }

    @Sendable func destroy(_ request: Request, context: PaddockRequestContext) async throws -> SessionBody {
        SessionBody(try await sessions.destroy(try context.sessionID(), by: try context.caller()))
    }

    @Sendable func pause(_ request: Request, context: PaddockRequestContext) async throws -> SessionBody {
        let to = request.uri.queryParameters.get("to") ?? "memory"
        guard to == "memory" || to == "disk" else {
            throw PaddockError.invalidArgument("`to` is `memory` (the default) or `disk`, not '\(to)'")
        }
        return SessionBody(
            try await sessions.pause(try context.sessionID(), toDisk: to == "disk", by: try context.caller()))
    }

    @Sendable func resume(_ request: Request, context: PaddockRequestContext) async throws -> SessionBody {
        SessionBody(try await sessions.resume(try context.sessionID(), by: try context.caller()))
    }

    @Sendable func stats(_ request: Request, context: PaddockRequestContext) async throws -> StatsBody {
        StatsBody(try await sessions.stats(try context.sessionID(), by: try context.caller()))
    }
}

extension PaddockRequestContext {
    /// The `:id` path parameter, validated.
    func sessionID() throws -> SessionID {
        guard let raw = parameters.get("id") else {
            throw PaddockError.invalidArgument("missing session id in the path")
        }
        guard let id = SessionID(rawValue: raw) else {
            throw PaddockError.notFound("session \(raw) does not exist (ids are lowercase letters and digits)")
        }
        return id
    }

    /// The authenticated caller; every `/v1` route but the health check has one.
    func requirePrincipal() throws -> Principal {
        guard let principal else { throw PaddockError(.unauthenticated, "this route needs a bearer token") }
        return principal
    }

    /// Who the services act for: the token's person.
    func caller() throws -> Caller { Caller(try requirePrincipal()) }
}
