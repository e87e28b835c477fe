import ArgumentParser
import Foundation
import PaddockAPI

struct ReposCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repos",
        abstract: "The server's repository cache: mirrors and the commit layers sessions start from.",
        discussion: """
            The first session on a repository fetches it once into a mirror on the server; each commit's checkout
            is sealed once, and every session on it starts on a copy-on-write view of it. The server fetches again
            when its copy is older than `paddock server --repo-refresh`; `refresh` fetches now. Owners and admins.
            """,
        subcommands: [List.self, Refresh.self, Remove.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List cached repositories: size, last fetch, and their commit layers.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(.GET, "/v1/repos", as: RepoListBody.self)
            if output.json { return try printJSON(list) }
            if list.repos.isEmpty { return print("the repository cache is empty") }
            print("ID                        SIZE        FETCHED               URL")
            for repo in list.repos {
                print(
                    [
                        repo.id.padding(24), ReposCommand.size(repo.bytes).padding(10),
                        (repo.fetchedAt.map(format) ?? "never").padding(20), repo.url,
                    ].joined(separator: "  "))
                for layer in repo.layers {
                    print(
                        "    layer \(layer.commit.prefix(12)) \(layer.branch)  \(ReposCommand.size(layer.bytes))  "
                            + "used \(format(layer.usedAt))\(layer.inUse ? "  in use" : "")")
                }
            }
        }
    }

    struct Refresh: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fetch cached repositories from their origins now.")
        @Argument(help: "Repository ids or URLs (as `paddock repos list` shows them).") var repos: [String]

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for repo in repos {
                let id = try await ReposCommand.id(of: repo, client)
                let r = try await client.call(.POST, "/v1/repos/\(id)/refresh", as: RepoBody.self)
                print("fetched \(r.url)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove cached repositories; layers live sessions use stay until they end.")
        @Argument(help: "Repository ids or URLs.") var repos: [String]

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for repo in repos {
                let id = try await ReposCommand.id(of: repo, client)
                let r = try await client.call(.DELETE, "/v1/repos/\(id)", as: RepoRemovedBody.self)
                if r.keptLayers.isEmpty {
                    print("removed \(r.url)")
                } else {
                    print("removed what \(r.url) held except \(r.keptLayers.count) layer(s) sessions still use")
                }
            }
        }
    }

    /// The cache id of a repository given by id or URL (a URL does not fit in a path segment).
    static func id(of repo: String, _ client: APIClient) async throws -> String {
        if repo.allSatisfy(\.isHexDigit) { return repo }
        let list = try await client.call(.GET, "/v1/repos", as: RepoListBody.self)
        guard let found = list.repos.first(where: { $0.url == repo }) else {
            throw ValidationError("\(repo) is not in the repository cache; `paddock repos list` shows what it holds")
        }
        return found.id
    }

    static func size(_ bytes: UInt64) -> String {
        bytes >= 1 << 30
            ? String(format: "%.1f GiB", Double(bytes) / Double(1 << 30))
            : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }
}
