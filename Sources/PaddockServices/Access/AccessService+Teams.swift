import Foundation
import PaddockCore

/// One team as its admins manage it: its record and the accounts of its members.
public struct TeamPeople: Sendable, Equatable {
    public var team: TeamRecord
    public var members: [UserAccount]
}

/// What a team's admins (and the org's owners and admins) may read and change of one team: its people and their
/// tokens. Another team answers like one that does not exist; every change is recorded in the org's trail.
extension AccessService {
    public func people(ofTeam name: String, by caller: Caller) async throws -> TeamPeople {
        try caller.authorizeTeamAdmin(name)
        guard let team = try await access.team(name) else {
            throw PaddockError.notFound("no team named '\(name)'; `paddock teams list` shows them")
        }
        let members = Set(team.members)
        return TeamPeople(team: team, members: try await access.users().filter { members.contains($0.name) })
    }

    /// Gives a person another role in the organisation (owners and admins: a role is org-wide). Nobody becomes
    /// or stops being the owner this way, and nobody changes their own role.
    public func setRole(user: String, role: Role, by caller: Caller) async throws -> UserAccount {
        try caller.authorizeOrg(.admin)
        guard role != .owner else {
            throw PaddockError.invalidArgument("there is one owner (the holder of admin.token); choose admin instead")
        }
        guard var account = try await access.user(user) else {
            throw PaddockError.notFound("no user named '\(user)'; `paddock users list` shows them")
        }
        guard account.role != .owner else { throw PaddockError.permissionDenied("the owner's role cannot change") }
        guard user != caller.principal?.user else {
            throw PaddockError.invalidArgument("you cannot change your own role; ask another admin")
        }
        guard account.role != role else { return account }
        try await access.setRole(user: user, role: role)
        try await trail.record(
            "user.role",
            ["user": .string(user), "from": .string(account.role.rawValue), "role": .string(role.rawValue)],
            by: caller)
        account.role = role
        return account
    }

    /// The tokens of the team's members that still work (newest first): never a secret, only ids and names.
    public func tokens(ofTeam name: String, by caller: Caller) async throws -> [TokenRecord] {
        let people = try await people(ofTeam: name, by: caller)
        let members = Set(people.members.map(\.name))
        let now = Date()
        return try await access.tokens(user: nil).filter { token in
            guard let user = token.user, members.contains(user), token.revokedAt == nil else { return false }
            return token.expiresAt.map { $0 > now } ?? true
        }
    }

    /// Revokes a token of one of the team's members; any other token answers like one that does not exist.
    public func revokeToken(id: String, ofTeam name: String, by caller: Caller) async throws -> TokenRecord {
        let people = try await people(ofTeam: name, by: caller)
        guard let token = try await access.token(id: id), let user = token.user,
            people.members.contains(where: { $0.name == user })
        else {
            throw PaddockError.notFound("no token with id '\(id)' among team \(name)'s; the team's tokens are listed")
        }
        return try await revokeToken(id: id, by: caller)
    }
}
