import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices

/// `/v1/secrets`: set (write-only), list (names and hosts), remove. `?team=` picks the team.
struct SecretController {
    let secrets: SecretService

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.get(use: list)
        group.put(":name", use: set)
        group.delete(":name", use: remove)
    }

    @Sendable func set(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<SecretBody> {
        let body = try await request.decode(as: SetSecretBody.self, context: context)
        let info = try await secrets.set(
            name: try context.secretName(), team: body.team ?? request.uri.queryParameters.get("team"),
            value: body.value, hosts: body.hosts, allowHTTP: body.allowHttp ?? false,
            inBody: body.inBody ?? false, by: try context.caller())
        return EditedResponse(status: .created, response: SecretBody(info))
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> SecretListBody {
        SecretListBody(
            secrets: try await secrets.list(team: request.uri.queryParameters.get("team"), by: try context.caller())
                .map(SecretBody.init))
    }

    @Sendable func remove(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        try await secrets.remove(
            name: try context.secretName(), team: request.uri.queryParameters.get("team"), by: try context.caller())
        return Response(status: .noContent)
    }
}

/// `PUT /v1/sessions/:id/network`, `GET /v1/sessions/:id/network`.
struct NetworkController {
    let sessions: SessionService

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.put(":id/network", use: change)
        group.get(":id/network", use: get)
    }

    @Sendable func change(_ request: Request, context: PaddockRequestContext) async throws -> NetworkBody {
        let body = try await request.decode(as: NetworkChangeBody.self, context: context)
        let rules = try await sessions.changeNetwork(
            try context.sessionID(), allow: body.allow ?? [], deny: body.deny ?? [], replace: body.replace ?? false,
            by: try context.caller())
        return NetworkBody(rules)
    }

    @Sendable func get(_ request: Request, context: PaddockRequestContext) async throws -> NetworkBody {
        NetworkBody(
            try await sessions.get(try context.sessionID(), for: try context.caller(), needs: .read).spec.network)
    }
}

extension PaddockRequestContext {
    func secretName() throws -> String {
        guard let name = parameters.get("name") else { throw PaddockError.invalidArgument("missing secret name") }
        return name
    }
}

extension SecretBody: ResponseEncodable {}
extension SecretListBody: ResponseEncodable {}
extension NetworkBody: ResponseEncodable {}
