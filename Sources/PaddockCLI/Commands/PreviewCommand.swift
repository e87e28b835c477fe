import ArgumentParser
import Foundation
import PaddockAPI

struct PreviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview", abstract: "Open, share and revoke the URLs of a session's running apps.",
        discussion: """
            Port P of a session is served at http://P-<session id>.<preview domain>[:port] to the people who may
            read the session (signed in to the web UI, or with a bearer token). A share link lets others in:
            `paddock preview share ID --port 3000 --to org --ttl 24h`.
            """,
        subcommands: [Show.self, Share.self, List.self, Revoke.self], defaultSubcommand: Show.self)

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Print the private URLs of the ports the session listens on.")
        @Argument(help: "Session id.") var id: String
        @Option(help: "Only this port (printed even if nothing listens on it yet).") var port: UInt16?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let path = "/v1/sessions/\(id)/previews" + (port.map { "?port=\($0)" } ?? "")
            let list = try await APIClient.fromEnvironment().call(.GET, path, as: PreviewListBody.self)
            if output.json { return try printJSON(list) }
            if list.previews.isEmpty {
                print("nothing listens on a TCP port in session \(id) yet; start the app, or pass --port")
            }
            for preview in list.previews {
                print("\(preview.port)  \(preview.url)\(preview.listening ? "" : "  (nothing listens yet)")")
            }
        }
    }

    struct Share: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a share link to one port; anyone in the audience can open it until it expires.")
        @Argument(help: "Session id.") var id: String
        @Option(help: "The app's port.") var port: UInt16
        @Option(help: "How long the link works (1m to 30d).") var ttl: String = "24h"
        @Option(help: "Who may open it: team, org, public (if the server allows it) or user:NAME.") var to: String =
            "team"
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let share = try await APIClient.fromEnvironment().call(
                .POST, "/v1/sessions/\(id)/previews/shares",
                json: CreatePreviewShareBody(port: port, ttl: ttl, audience: to), as: PreviewShareBody.self)
            if output.json { return try printJSON(share) }
            print(share.url ?? "")
            print("share \(share.id) for \(share.audience), until \(format(share.expiresAt))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List share links (of one session, or all).")
        @Argument(help: "Session id.") var id: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let path = id.map { "/v1/sessions/\($0)/previews/shares" } ?? "/v1/previews/shares"
            let list = try await APIClient.fromEnvironment().call(.GET, path, as: PreviewShareListBody.self)
            if output.json { return try printJSON(list) }
            print("ID                SESSION           PORT   AUDIENCE      STATE    EXPIRES")
            for s in list.shares {
                let state = s.revokedAt != nil ? "revoked" : "live"
                print(
                    [
                        s.id.padding(16), s.session.padding(16), "\(s.port)".padding(5), s.audience.padding(12),
                        state.padding(7), format(s.expiresAt),
                    ].joined(separator: "  "))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a share link at once; its open pages and WebSockets are cut off.")
        @Argument(help: "Share ids.") var shares: [String]

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for id in shares {
                let s = try await client.call(.DELETE, "/v1/previews/shares/\(id)", as: PreviewShareBody.self)
                print("revoked \(s.id)")
            }
        }
    }
}
