import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

/// `paddock users add|list|rm`.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "People who can hold API tokens (owner, admin, member, viewer).",
        subcommands: [Add.self, List.self, Remove.self, SetPassword.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user. Then give them a token with `tokens create --user`.")
        @Argument(help: "User name: lowercase letters, digits, '-', '_', '.'.") var name: String
        @Option(help: "admin, member or viewer.") var role: String = "member"
        @Option(help: "Also add them to this team.") var team: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            var user = try await client.call(
                .POST, "/v1/users", json: CreateUserBody(name: name, role: role), as: UserBody.self)
            if let team {
                _ = try await client.call(.PUT, "/v1/teams/\(team)/members/\(name)", as: TeamBody.self)
                user.teams = [team]
            }
            if output.json { return try printJSON(user) }
            print("added \(user.role) \(user.name)\(team.map { " to team \($0)" } ?? "")")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users, their roles and teams.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(.GET, "/v1/users", as: UserListBody.self)
            if output.json { return try printJSON(list) }
            print("NAME              ROLE     TEAMS")
            for u in list.users {
                print([u.name.padding(16), u.role.padding(7), u.teams.joined(separator: ",")].joined(separator: "  "))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove users; their tokens are revoked at once.")
        @Argument(help: "User names.") var names: [String]

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for name in names {
                _ = try await client.raw(.DELETE, "/v1/users/\(name)")
                print("removed \(name); their tokens are revoked")
            }
        }
    }
}

/// `paddock teams add|list|members add|rm|budget`.
struct TeamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teams", abstract: "Teams own sessions; each grants its members permissions on them.",
        subcommands: [Add.self, List.self, Members.self, Budget.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a team.")
        @Argument(help: "Team name.") var name: String
        @Option(help: "What members may do with the team's sessions, as in runtime.yml's rbac: map.")
        var permissions: String = "read,write,approve,submit"
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let parsed = try Permission.parseList(permissions)
            let team = try await APIClient.fromEnvironment().call(
                .POST, "/v1/teams",
                json: CreateTeamBody(
                    name: name, permissions: Permission.allCases.filter(parsed.contains).map(\.rawValue)),
                as: TeamBody.self)
            if output.json { return try printJSON(team) }
            print("created team \(team.name): \(team.permissions.joined(separator: ", "))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List teams, their permissions and members.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(.GET, "/v1/teams", as: TeamListBody.self)
            if output.json { return try printJSON(list) }
            print("TEAM              PERMISSIONS                   BUDGET      MEMBERS")
            for t in list.teams {
                print(
                    [
                        t.name.padding(16), t.permissions.joined(separator: ",").padding(28),
                        (t.monthlyBudgetUSD.map { Budget.money($0) + "/mo" } ?? "default").padding(10),
                        t.members.joined(separator: ","),
                    ]
                    .joined(separator: "  "))
            }
        }
    }

    struct Budget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set a team's monthly agent budget.",
            discussion:
                "A team that has spent its budget in the current calendar month (UTC) cannot start agent runs "
                + "until the 1st. Without --monthly or --clear, shows the budget and this month's spending.")
        @Argument(help: "Team name.") var team: String
        @Option(help: "The budget in US dollars per month (0 stops every run).") var monthly: Double?
        @Flag(help: "Remove the team's own budget: the server's --team-budget or --default-team-budget applies.")
        var clear = false
        @OptionGroup var output: OutputOptions

        static func money(_ dollars: Double) -> String { String(format: "$%.2f", dollars) }

        func validate() throws {
            if monthly != nil && clear { throw ValidationError("give --monthly DOLLARS or --clear, not both") }
            if let monthly, !(monthly >= 0) || !monthly.isFinite {
                throw ValidationError("--monthly takes a number of dollars, 0 or more")
            }
        }

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            let path = "/v1/teams/\(team)/budget"
            let status =
                monthly != nil || clear
                ? try await client.call(
                    .PUT, path, json: TeamBudgetBody(monthlyBudgetUSD: clear ? nil : monthly), as: TeamBudgetStatus.self
                )
                : try await client.call(.GET, path, as: TeamBudgetStatus.self)
            if output.json { return try printJSON(status) }
            let spent = Self.money(status.spentThisMonthUSD)
            switch (status.monthlyBudgetUSD, status.source) {
            case (let budget?, .team):
                print("team \(status.team): \(spent) of its \(Self.money(budget)) monthly budget spent")
            case (let budget?, _):
                print(
                    "team \(status.team): \(spent) of the server's \(Self.money(budget)) monthly budget spent (no "
                        + "budget of its own)")
            case (nil, _):
                print("team \(status.team): \(spent) spent this month; no budget limits its runs")
            }
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add people to a team or remove them.", subcommands: [AddMember.self, RemoveMember.self])
    }

    struct AddMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add users to a team.")
        @Argument(help: "Team.") var team: String
        @Argument(help: "Users.") var users: [String]

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for user in users {
                _ = try await client.call(.PUT, "/v1/teams/\(team)/members/\(user)", as: TeamBody.self)
                print("added \(user) to \(team)")
            }
        }
    }

    struct RemoveMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove users from a team.")
        @Argument(help: "Team.") var team: String
        @Argument(help: "Users.") var users: [String]

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for user in users {
                _ = try await client.call(.DELETE, "/v1/teams/\(team)/members/\(user)", as: TeamBody.self)
                print("removed \(user) from \(team)")
            }
        }
    }
}

/// `paddock tokens create|list|revoke`.
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "API tokens: each belongs to a user and never exceeds their role.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it once (only its hash is stored).")
        @Option(help: "A label to recognise it by.") var name: String?
        @Option(help: "Whose token (default: yours; others' need admin).") var user: String?
        @Option(help: "Comma-separated permissions, e.g. read or read,write (default: all the role allows).")
        var scopes: String?
        @Option(help: "Expire after this long, e.g. 30d (default: never).") var expires: String?
        @Flag(help: "Print it in E2B's spelling (e2b_<hex>), the shape E2B's SDKs require of E2B_API_KEY.")
        var e2b = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let parsed = try scopes.map {
                Permission.allCases.filter(try Permission.parseList($0).contains).map(\.rawValue)
            }
            if let expires { _ = try DurationText.parse(expires) }
            let token = try await APIClient.fromEnvironment().call(
                .POST, "/v1/tokens", json: CreateTokenBody(name: name, user: user, scopes: parsed, expiresIn: expires),
                as: TokenBody.self)
            if output.json { return try printJSON(token) }
            print((e2b ? token.token.flatMap(E2BKeySpelling.e2b) : nil) ?? token.token ?? "")
            FileHandle.standardError.write(
                Data(
                    ("token \(token.id) for \(token.user ?? "-") (\(token.scopes.joined(separator: ","))): shown once, "
                        + "store it now\n").utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @Option(help: "Another user's tokens (admin).") var user: String?
        @Flag(help: "Everyone's tokens (admin).") var all = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var query: [String: String] = [:]
            if let user { query["user"] = user }
            if all { query["all"] = "true" }
            let list = try await APIClient.fromEnvironment().call(
                .GET, "/v1/tokens" + (query.isEmpty ? "" : "?" + APIClient.query(query)), as: TokenListBody.self)
            if output.json { return try printJSON(list) }
            print("ID                USER          NAME              SCOPES                          STATUS")
            for t in list.tokens {
                let status =
                    t.revokedAt.map { "revoked \(format($0))" }
                    ?? t.expiresAt.map { $0 < Date() ? "expired" : "expires \(format($0))" } ?? "active"
                print(
                    [
                        t.id.padding(16), (t.user ?? "-").padding(12), t.name.padding(16),
                        t.scopes.joined(separator: ",").padding(30), status,
                    ].joined(separator: "  "))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke tokens; they stop working at once.")
        @Argument(help: "Token ids (from `tokens list`).") var ids: [String]

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for id in ids {
                _ = try await client.call(.DELETE, "/v1/tokens/\(id)", as: TokenBody.self)
                print("revoked \(id)")
            }
        }
    }
}
