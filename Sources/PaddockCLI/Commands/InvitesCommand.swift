import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

/// `paddock invites create|list|revoke`: links that let one person make their own account.
struct InvitesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invites", abstract: "Invite people: a link creates one account, once, before it expires.",
        discussion: """
            The link is shown once; send it to the person privately. Opening it in the web UI asks for a password
            (and a user name when the invite leaves it open), creates the account with the invite's role and
            teams, and signs them in.
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an invite link and print it.")
        @Option(help: "admin, member or viewer.") var role: String = "member"
        @Option(help: "A team the new user joins (repeatable).") var team: [String] = []
        @Option(help: "The user name the invite creates (default: the invitee chooses).") var user: String?
        @Option(help: "Who the invite is for, for the list (and the default user name).") var email: String?
        @Option(help: "How long the link works, such as 72h or 7d.") var ttl: String = "72h"
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            let invite = try await client.call(
                .POST, "/v1/invites",
                json: CreateInviteBody(
                    role: role, teams: team.isEmpty ? nil : team, user: user, email: email, ttl: ttl),
                as: InviteBody.self)
            if output.json { return try printJSON(invite) }
            let link = invite.url ?? client.baseURL + (invite.link ?? "")
            let teams = invite.teams.isEmpty ? "" : " in \(invite.teams.joined(separator: ", "))"
            print(
                "invite \(invite.id): \(invite.user.map { "'\($0)', " } ?? "")\(invite.role)\(teams), until "
                    + ISO8601DateFormatter().string(from: invite.expiresAt))
            print(link)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List invites and whether they were used.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(.GET, "/v1/invites", as: InviteListBody.self)
            if output.json { return try printJSON(list) }
            print("ID                USER/EMAIL            ROLE     TEAMS             STATE")
            let now = Date()
            for i in list.invites {
                let state =
                    i.usedAt != nil
                    ? "used by \(i.usedBy ?? "?")"
                    : i.revokedAt != nil ? "revoked" : i.expiresAt <= now ? "expired" : "open"
                print(
                    [
                        i.id.padding(16), (i.user ?? i.email ?? "-").padding(20), i.role.padding(7),
                        i.teams.joined(separator: ",").padding(16), state,
                    ]
                    .joined(separator: "  "))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make unused invites unusable.")
        @Argument(help: "Invite ids (from `paddock invites list`).") var ids: [String]

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for id in ids {
                let invite = try await client.call(.DELETE, "/v1/invites/\(id)", as: InviteBody.self)
                print(
                    invite.usedAt != nil ? "invite \(id) was already used by \(invite.usedBy ?? "?")" : "revoked \(id)")
            }
        }
    }
}
