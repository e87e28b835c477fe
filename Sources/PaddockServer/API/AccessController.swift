import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices
import PaddockStore

/// People, teams and tokens: `/v1/me`, `/v1/users`, `/v1/teams`, `/v1/tokens`. Who may call which route is
/// decided by `RouteAuthorizer.requirement`; the token routes also check here whose tokens the caller may touch.
struct AccessController {
    let service: AccessService

    func addRoutes(to router: Router<PaddockRequestContext>) {
        router.get("/v1/me", use: me)
        router.post("/v1/users", use: createUser)
        router.get("/v1/users", use: listUsers)
        router.delete("/v1/users/:name", use: removeUser)
        router.post("/v1/teams", use: createTeam)
        router.get("/v1/teams", use: listTeams)
        router.put("/v1/teams/:team/members/:user", use: addMember)
        router.delete("/v1/teams/:team/members/:user", use: removeMember)
        router.post("/v1/tokens", use: createToken)
        router.get("/v1/tokens", use: listTokens)
        router.delete("/v1/tokens/:id", use: revokeToken)
    }

    @Sendable func me(_ request: Request, context: PaddockRequestContext) async throws -> MeBody {
        let p = try context.requirePrincipal()
        var teams: [String: [String]] = [:]
        for team in p.teams.keys {
            teams[team] = Permission.allCases.filter(p.permissions(onTeam: team).contains).map(\.rawValue)
        }
        return MeBody(
            user: p.user, role: p.role.rawValue, tokenId: p.tokenID,
            scopes: Permission.allCases.filter(p.scopes.contains).map(\.rawValue), teams: teams)
    }

    // MARK: Users

    @Sendable func createUser(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        UserBody
    > {
        let body = try await request.decode(as: CreateUserBody.self, context: context)
        let role = try body.role.map { r throws(PaddockError) in try Role(parsing: r) }
        let user = try await service.createUser(name: body.name, role: role, by: try context.caller())
        return EditedResponse(status: .created, response: UserBody(user, teams: []))
    }

    @Sendable func listUsers(_ request: Request, context: PaddockRequestContext) async throws -> UserListBody {
        let teams = try await service.teams()
        return UserListBody(
            users: try await service.users().map { u in
                UserBody(u, teams: teams.filter { $0.members.contains(u.name) }.map(\.name))
            })
    }

    @Sendable func removeUser(_ request: Request, context: PaddockRequestContext) async throws -> HTTPResponse.Status {
        try await service.removeUser(try context.parameter("name"), by: try context.caller())
        return .noContent
    }

    // MARK: Teams

    @Sendable func createTeam(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        TeamBody
    > {
        let body = try await request.decode(as: CreateTeamBody.self, context: context)
        let permissions = try body.permissions.map { (list: [String]) throws(PaddockError) -> Set<Permission> in
            try Permission.parseList(list.joined(separator: ","))
        }
        let team = try await service.createTeam(name: body.name, permissions: permissions, by: try context.caller())
        return EditedResponse(status: .created, response: TeamBody(team))
    }

    @Sendable func listTeams(_ request: Request, context: PaddockRequestContext) async throws -> TeamListBody {
        TeamListBody(teams: try await service.teams().map(TeamBody.init))
    }

    @Sendable func addMember(_ request: Request, context: PaddockRequestContext) async throws -> TeamBody {
        try await membership(context, member: true)
    }

    @Sendable func removeMember(_ request: Request, context: PaddockRequestContext) async throws -> TeamBody {
        try await membership(context, member: false)
    }

    private func membership(_ context: PaddockRequestContext, member: Bool) async throws -> TeamBody {
        TeamBody(
            try await service.setMembership(
                team: try context.parameter("team"), user: try context.parameter("user"), member: member,
                by: try context.caller()))
    }

    // MARK: Tokens

    @Sendable func createToken(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        TokenBody
    > {
        let body = try await request.decode(as: CreateTokenBody.self, context: context)
        let scopes = try body.scopes.map { (list: [String]) throws(PaddockError) -> Set<Permission> in
            try Permission.parseList(list.joined(separator: ","))
        }
        // Bounded (100 years) so the expiry is a date the store can read back.
        let expiresIn = try body.expiresIn.map { (t: String) throws(PaddockError) -> Duration in
            do throws(PaddockError) { return try DurationText.parse(t) } catch {
                throw .invalidArgument("expires_in: \(error.message)")
            }
        }
        let (token, record) = try await service.createToken(
            name: body.name, user: body.user, scopes: scopes, expiresIn: expiresIn, by: try context.caller())
        return EditedResponse(status: .created, response: TokenBody(record, token: token))
    }

    @Sendable func listTokens(_ request: Request, context: PaddockRequestContext) async throws -> TokenListBody {
        let records = try await service.tokens(
            user: request.uri.queryParameters.get("user"), all: request.uri.queryParameters.get("all") == "true",
            by: try context.caller())
        return TokenListBody(tokens: records.map { TokenBody($0) })
    }

    @Sendable func revokeToken(_ request: Request, context: PaddockRequestContext) async throws -> TokenBody {
        TokenBody(try await service.revokeToken(id: try context.parameter("id"), by: try context.caller()))
    }
}

extension PaddockRequestContext {
    /// A required path parameter.
    func parameter(_ name: String) throws -> String {
        guard let value = parameters.get(name) else {
            throw PaddockError.invalidArgument("missing \(name) in the path")
        }
        return value
    }
}
