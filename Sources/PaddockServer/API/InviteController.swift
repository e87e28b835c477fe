import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices

/// Invites and passwords for the CLI (`paddock invites`, `paddock users set-password`): `/v1/invites` and
/// `/v1/users/{name}/password`. Admins only (`RouteAuthorizer`); the services check again and record.
struct InviteController {
    let signIn: SignInService

    func addRoutes(to router: Router<PaddockRequestContext>) {
        router.post("/v1/invites", use: create)
        router.get("/v1/invites", use: list)
        router.delete("/v1/invites/:id", use: revoke)
        router.put("/v1/users/:name/password", use: setPassword)
    }

    @Sendable func create(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        InviteBody
    > {
        let body = try await request.decode(as: CreateInviteBody.self, context: context)
        let role = try body.role.map { r throws(PaddockError) in try Role(parsing: r) } ?? .member
        let ttl = try body.ttl.map { t throws(PaddockError) in try DurationText.parse(t) }
        let created = try await signIn.invites.create(
            role: role, teams: body.teams ?? [], user: body.user, email: body.email, ttl: ttl,
            by: try context.caller())
        return EditedResponse(
            status: .created, response: InviteBody(created.record, link: created.path, url: created.url))
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> InviteListBody {
        InviteListBody(invites: try await signIn.invites.list(by: try context.caller()).map { InviteBody($0) })
    }

    @Sendable func revoke(_ request: Request, context: PaddockRequestContext) async throws -> InviteBody {
        InviteBody(try await signIn.invites.revoke(id: try context.parameter("id"), by: try context.caller()))
    }

    @Sendable func setPassword(_ request: Request, context: PaddockRequestContext) async throws
        -> HTTPResponse.Status
    {
        let body = try await request.decode(as: SetPasswordBody.self, context: context)
        try await signIn.setPassword(
            user: try context.parameter("name"), password: body.password, by: try context.caller())
        return .noContent
    }
}

extension InviteBody: ResponseEncodable {}
extension InviteListBody: ResponseEncodable {}
extension SignedInBody: ResponseEncodable {}
