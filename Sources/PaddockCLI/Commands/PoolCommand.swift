import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

struct PoolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool", abstract: "Warm pools: pre-started sandboxes that sessions claim instantly.",
        subcommands: [Set.self, List.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Keep SIZE sandboxes of TEMPLATE ready (0 removes the pool). The server refills it in the background.")
        @Argument(help: "Template, e.g. host.") var template: String
        @Option(help: "How many sandboxes to keep ready.") var size: Int
        @Option(help: "Provider: local or gvisor.") var provider: String = "local"
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let status = try await APIClient.fromEnvironment().call(
                .PUT, "/v1/pools/\(template)", json: PoolBody(size: size, provider: provider),
                as: PoolStatus.self)
            if output.json { return try printJSON(status) }
            print("pool \(status.provider)/\(status.template): size \(status.size), \(status.ready) ready now")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show warm pools and how many sandboxes are ready.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(.GET, "/v1/pools", as: PoolListBody.self)
            if output.json { return try printJSON(list) }
            print("PROVIDER  TEMPLATE  SIZE  READY")
            for p in list.pools {
                print(
                    [p.provider.padding(8), p.template.padding(8), String(p.size).padding(4), String(p.ready)].joined(
                        separator: "  "))
            }
        }
    }
}
