import Foundation
import PaddockCore
import PaddockStore

/// People, teams, tokens and org limits. Every change is authorized here (org-wide changes need an owner or
/// admin; a token may be made or revoked by its own user) and recorded in the organisation's audit trail
/// before it is reported done. Doors only translate their wire formats.
public struct AccessService: Sendable {
    let tokens: TokenService
    let access: any AccessStore
    let trail: OrgTrail

    public init(tokens: TokenService, trail: OrgTrail) {
        self.tokens = tokens
        access = tokens.access
        self.trail = trail
    }

    // MARK: People

    public func users() async throws -> [UserAccount] { try await access.users() }

    public func teams() async throws -> [TeamRecord] { try await access.teams() }

    public func limits() async throws -> OrgLimits { try await access.orgLimits() }

    public func createUser(name: String, role: Role?, by caller: Caller) async throws -> UserAccount {
        try caller.authorizeOrg(.admin)
        try UserAccount.validateName(name, kind: "user")
        let role = role ?? .member
        guard role != .owner else {
            throw PaddockError.invalidArgument(
                "there is one owner (the holder of admin.token); give the new user the admin role instead")
        }
        let user = UserAccount(name: name, role: role, createdAt: Date())
        try await access.insertUser(user)
        try await trail.record("user.create", ["user": .string(name), "role": .string(role.rawValue)], by: caller)
        return user
    }

    public func removeUser(_ name: String, by caller: Caller) async throws {
        try caller.authorizeOrg(.admin)
        guard let user = try await access.user(name) else {
            throw PaddockError.notFound("no user named '\(name)'; `paddock users list` shows them")
        }
        guard user.role != .owner else { throw PaddockError.permissionDenied("the owner cannot be removed") }
        guard name != caller.principal?.user else {
            throw PaddockError.invalidArgument("you cannot remove yourself; ask another admin")
        }
        try await access.removeUser(name, now: Date())
        try await trail.record("user.remove", ["user": .string(name)], by: caller)
    }

    // MARK: Teams

    public func createTeam(name: String, permissions: Set<Permission>?, by caller: Caller) async throws
        -> TeamRecord
    {
        try caller.authorizeOrg(.admin)
        try UserAccount.validateName(name, kind: "team")
        let team = TeamRecord(
            name: name, permissions: permissions ?? TeamRecord.defaultPermissions, members: [], createdAt: Date())
        try await access.insertTeam(team)
        try await trail.record(
            "team.create",
            ["team": .string(name), "permissions": .strings(team.permissions.map(\.rawValue).sorted())], by: caller)
        return team
    }

    public func setMembership(team: String, user: String, member: Bool, by caller: Caller) async throws
        -> TeamRecord
    {
        try caller.authorizeOrg(.admin)
        try await access.setMembership(team: team, user: user, member: member)
        try await trail.record(
            member ? "team.member.add" : "team.member.remove", ["team": .string(team), "user": .string(user)],
            by: caller)
        guard let record = try await access.team(team) else {
            throw PaddockError.notFound("no team named '\(team)'; `paddock teams list` shows them")
        }
        return record
    }

    // MARK: Tokens

    /// A token never grants more than its user's role, nor more than the caller's own token.
    public func createToken(
        name: String?, user: String?, scopes requested: Set<Permission>?, expiresIn: Duration?, by caller: Caller
    ) async throws -> (token: String, record: TokenRecord) {
        guard let p = caller.principal else { throw PaddockError.invalidArgument("tokens are made for people") }
        let userName = user ?? p.user
        if userName != p.user, !p.hasGlobal(.admin) {
            throw PaddockError.permissionDenied("only an owner or admin may create tokens for someone else")
        }
        guard let account = try await access.user(userName) else {
            throw PaddockError.notFound("no user named '\(userName)'; add them with `paddock users add \(userName)`")
        }
        let scopes = requested ?? account.role.ceiling.intersection(p.scopes)
        if let beyond = Permission.allCases.first(where: { scopes.contains($0) && !account.role.ceiling.contains($0) })
        {
            throw PaddockError.permissionDenied(
                "scope '\(beyond)' is more than a \(account.role) may do (\(Permission.describe(account.role.ceiling))); "
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
        let expiresAt = try expiresIn.map { (d: Duration) throws(PaddockError) -> Date in
            guard d >= .seconds(1) else {
                throw .invalidArgument("expires_in is shorter than one second; omit it for a token that never expires")
            }
            return Date().addingTimeInterval(d.seconds)
        }
        let name = name ?? "\(userName)-token"
        try InputLimits.checkName(name, field: "name")
        let issued = try await tokens.issueRecord(name: name, user: userName, scopes: scopes, expiresAt: expiresAt)
        // The new token's id, never its secret.
        try await trail.record(
            "token.create",
            [
                "id": .string(issued.record.id), "user": .string(userName), "name": .string(name),
                "scopes": .strings(scopes.map(\.rawValue).sorted()),
            ], by: caller)
        return issued
    }

    /// The caller's tokens, someone else's (admins), or everyone's (`user` nil and `all`; admins).
    public func tokens(user: String?, all: Bool, by caller: Caller) async throws -> [TokenRecord] {
        let user = user ?? (all ? nil : caller.principal?.user)
        if let p = caller.principal, user != p.user, !p.hasGlobal(.admin) {
            throw PaddockError.permissionDenied("only an owner or admin may list other people's tokens")
        }
        return try await access.tokens(user: user)
    }

    public func revokeToken(id: String, by caller: Caller) async throws -> TokenRecord {
        // Someone else's token answers like one that does not exist, unless the caller is an admin.
        let mayTouch: (TokenRecord) -> Bool = { token in
            guard let p = caller.principal else { return true }
            return token.user == p.user || p.hasGlobal(.admin)
        }
        guard let token = try await access.token(id: id), mayTouch(token) else {
            throw PaddockError.notFound("no token with id '\(id)'; `paddock tokens list` shows yours")
        }
        let revoked = try await access.revokeToken(id: token.id, now: Date())
        try await trail.record("token.revoke", ["id": .string(token.id), "user": .optional(token.user)], by: caller)
        return revoked
    }

    // MARK: Org limits

    public func setLimits(_ limits: OrgLimits, by caller: Caller) async throws -> OrgLimits {
        try caller.authorizeOrg(.admin)
        try limits.validate()
        try await access.setOrgLimits(limits)
        try await trail.record(
            "limits.set",
            [
                "max_sessions_per_team": limits.maxSessionsPerTeam.map { .int(Int64($0)) } ?? .null,
                "max_sessions_per_user": limits.maxSessionsPerUser.map { .int(Int64($0)) } ?? .null,
                "max_lifetime_s": limits.maxLifetimeSeconds.map { .int($0) } ?? .null,
            ], by: caller)
        return limits
    }
}
