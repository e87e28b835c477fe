import PaddockCore
import Testing

/// What a caller may do is role ∩ token scopes ∩ (for members and viewers) the team's grant.
struct PrincipalTests {
    static let cases: [(Role, Set<Permission>, Set<Permission>, Set<Permission>)] = [
        // role, scopes, team grant, expected on that team
        (.member, Set(Permission.allCases), [.read, .write], [.read, .write]),
        (.member, [.read], [.read, .write], [.read]),
        (.viewer, Set(Permission.allCases), [.read, .write, .approve], [.read]),
        (.member, Set(Permission.allCases), [.read], [.read]),
        (.admin, [.read, .write], [], [.read, .write]),
        (.owner, Set(Permission.allCases), [], Set(Permission.allCases)),
    ]

    @Test(arguments: cases)
    func permissionsAreTheIntersection(
        role: Role, scopes: Set<Permission>, grant: Set<Permission>, expected: Set<Permission>
    ) {
        let p = Principal(user: "u", role: role, tokenID: "t", scopes: scopes, teams: ["a": grant])
        #expect(p.permissions(onTeam: "a") == expected)
    }

    @Test func membersSeeOnlyTheirTeamsAndAdminsSeeAll() {
        let member = Principal(
            user: "m", role: .member, tokenID: "t", scopes: Role.member.ceiling, teams: ["a": [.read]])
        #expect(member.canSee(team: "a") && !member.canSee(team: "b") && !member.canSee(team: nil))
        #expect(!member.hasGlobal(.admin) && !member.hasGlobal(.read))
        // A member's token cannot hold admin, even if stored with it.
        let inflated = Principal(user: "m", role: .member, tokenID: "t", scopes: [.admin, .read], teams: [:])
        #expect(inflated.scopes == [.read])
        let admin = Principal(user: "a", role: .admin, tokenID: "t", scopes: Role.admin.ceiling, teams: [:])
        #expect(admin.canSee(team: "b") && admin.canSee(team: nil) && admin.hasGlobal(.admin))
    }

    @Test func permissionListsParseWithHelpfulErrors() throws {
        #expect(try Permission.parseList("read, write") == [.read, .write])
        #expect(throws: PaddockError.self) { try Permission.parseList("read,delete") }
        #expect(throws: PaddockError.self) { try Role(parsing: "superuser") }
        #expect(throws: PaddockError.self) { try UserAccount.validateName("Bad Name", kind: "user") }
        try UserAccount.validateName("ci-bot.2", kind: "user")
    }
}
