import Foundation
import Hummingbird
import PaddockCore
import PaddockStore

/// People, teams and tokens: `/v1/me`, `/v1/users`, `/v1/teams`, `/v1/tokens`. Who may call which route is
/// decided by `Authorizer.requirement`; the token routes also check here whose tokens the caller may touch.
struct AccessController {
    let tokens: TokenService
    let access: any AccessStore

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
        try UserAccount.validateName(body.name, kind: "user")
        let role = try body.role.map { r throws(PaddockError) in try Role(parsing: r) } ?? .member
        guard role != .owner else {
            throw PaddockError.invalidArgument(
                "there is one owner (the holder of admin.token); give the new user the admin role instead")
        }
        let user = UserAccount(name: body.name, role: role, createdAt: Date())
        try await access.insertUser(user)
        return EditedResponse(status: .created, response: UserBody(user, teams: []))
    }

    @Sendable func listUsers(_ request: Request, context: PaddockRequestContext) async throws -> UserListBody {
        let teams = try await access.teams()
        return UserListBody(
            users: try await access.users().map { u in
                UserBody(u, teams: teams.filter { $0.members.contains(u.name) }.map(\.name))
            })
    }

    @Sendable func removeUser(_ request: Request, context: PaddockRequestContext) async throws -> HTTPResponse.Status {
        let name = try context.parameter("name")
        let p = try context.requirePrincipal()
        guard let user = try await access.user(name) else {
            throw PaddockError.notFound("no user named '\(name)'; `paddock users list` shows them")
        }
        guard user.role != .owner else {
            throw PaddockError.permissionDenied("the owner cannot be removed")
        }
        guard name != p.user else {
            throw PaddockError.invalidArgument("you cannot remove yourself; ask another admin")
        }
        try await access.removeUser(name, now: Date())
        return .noContent
    }

    // MARK: Teams

    @Sendable func createTeam(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        TeamBody
    > {
        let body = try await request.decode(as: CreateTeamBody.self, context: context)
        try UserAccount.validateName(body.name, kind: "team")
        let permissions =
            try body.permissions.map { (list: [String]) throws(PaddockError) -> Set<Permission> in
                try Permission.parseList(list.joined(separator: ","))
            } ?? TeamRecord.defaultPermissions
        let team = TeamRecord(name: body.name, permissions: permissions, members: [], createdAt: Date())
        try await access.insertTeam(team)
        return EditedResponse(status: .created, response: TeamBody(team))
    }

    @Sendable func listTeams(_ request: Request, context: PaddockRequestContext) async throws -> TeamListBody {
        TeamListBody(teams: try await access.teams().map(TeamBody.init))
    }

    @Sendable func addMember(_ request: Request, context: PaddockRequestContext) async throws -> TeamBody {
        let team = try context.parameter("team")
        try await access.setMembership(team: team, user: try context.parameter("user"), member: true)
        return try await teamBody(team)
    }

    @Sendable func removeMember(_ request: Request, context: PaddockRequestContext) async throws -> TeamBody {
        let team = try context.parameter("team")
        try await access.setMembership(team: team, user: try context.parameter("user"), member: false)
        return try await teamBody(team)
    }

    private func teamBody(_ name: String) async throws -> TeamBody {
        guard let team = try await access.team(name) else {
            throw PaddockError.notFound("no team named '\(name)'; `paddock teams list` shows them")
        }
        return TeamBody(team)
    }

    // MARK: Tokens

    /// A token never grants more than its user's role, nor more than the token that creates it.
    @Sendable func createToken(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        TokenBody
    > {
        let body = try await request.decode(as: CreateTokenBody.self, context: context)
        let p = try context.requirePrincipal()
        let userName = body.user ?? p.user
        if userName != p.user, !p.hasGlobal(.admin) {
            throw PaddockError.permissionDenied("only an owner or admin may create tokens for someone else")
        }
        guard let user = try await access.user(userName) else {
            throw PaddockError.notFound("no user named '\(userName)'; add them with `paddock users add \(userName)`")
        }
        let allowed = user.role.ceiling.intersection(p.scopes)
        let scopes =
            try body.scopes.map { (list: [String]) throws(PaddockError) -> Set<Permission> in
                try Permission.parseList(list.joined(separator: ","))
            } ?? allowed
        if let beyond = Permission.allCases.first(where: { scopes.contains($0) && !user.role.ceiling.contains($0) }) {
            throw PaddockError.permissionDenied(
                "scope '\(beyond)' is more than a \(user.role) may do (\(Permission.describe(user.role.ceiling))); "
                    + "ask for less")
        }
        if let beyond = Permission.allCases.first(where: { scopes.contains($0) && !p.scopes.contains($0) }) {
            throw PaddockError.permissionDenied(
                "scope '\(beyond)' is more than the token you are using holds (\(Permission.describe(p.scopes))); "
                    + "a token cannot grant more than it has")
        }
        guard !scopes.isEmpty else {
            throw PaddockError.invalidArgument("a token needs at least one scope, such as read")
        }
        // Bounded (100 years) so the expiry is a date the store can read back.
        let expiresAt = try body.expiresIn.map { (t: String) throws(PaddockError) -> Date in
            let d: Duration
            do throws(PaddockError) { d = try DurationText.parse(t) } catch {
                throw .invalidArgument("expires_in: \(error.message)")
            }
            guard d >= .seconds(1) else {
                throw .invalidArgument(
                    "expires_in '\(t)' is shorter than one second; omit it for a token that never expires")
            }
            return Date().addingTimeInterval(d.seconds)
        }
        let name = body.name ?? "\(userName)-token"
        try InputLimits.checkName(name, field: "name")
        let (token, record) = try await tokens.issueRecord(
            name: name, user: userName, scopes: scopes, expiresAt: expiresAt)
        return EditedResponse(status: .created, response: TokenBody(record, token: token))
    }

    @Sendable func listTokens(_ request: Request, context: PaddockRequestContext) async throws -> TokenListBody {
        let p = try context.requirePrincipal()
        let all = request.uri.queryParameters.get("all") == "true"
        let user = request.uri.queryParameters.get("user") ?? (all ? nil : p.user)
        if user != p.user, !p.hasGlobal(.admin) {
            throw PaddockError.permissionDenied("only an owner or admin may list other people's tokens")
        }
        return TokenListBody(tokens: try await access.tokens(user: user).map { TokenBody($0) })
    }

    @Sendable func revokeToken(_ request: Request, context: PaddockRequestContext) async throws -> TokenBody {
        let p = try context.requirePrincipal()
        let id = try context.parameter("id")
        // Someone else's token answers like one that does not exist, unless the caller is an admin.
        guard let token = try await access.token(id: id), token.user == p.user || p.hasGlobal(.admin) else {
            throw PaddockError.notFound("no token with id '\(id)'; `paddock tokens list` shows yours")
        }
        return TokenBody(try await access.revokeToken(id: token.id, now: Date()))
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
