import ArgumentParser
import Foundation
import PaddockConfig
import PaddockCore

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Validate runtime.yml files and explain the decisions they make.",
        discussion: """
            Layers apply from the top: --org, then --team, then the repository's FILE. A lower layer can
            tighten what a higher one allows, never loosen what it denies.
            """,
        subcommands: [Check.self, Explain.self])

    struct Layers: ParsableArguments {
        @Argument(help: "The repository's runtime.yml.") var file: String
        @Option(help: "The organisation's runtime.yml (the top layer).") var org: String?
        @Option(help: "The team's runtime.yml.") var team: String?

        func effective() throws -> EffectivePolicy {
            var layers: [PolicyLayer] = []
            if let org { layers.append(PolicyLayer(.org, try RuntimeConfig.load(path: org))) }
            if let team { layers.append(PolicyLayer(.team, try RuntimeConfig.load(path: team))) }
            layers.append(PolicyLayer(.repository, try RuntimeConfig.load(path: file)))
            return try PolicyLayers(layers).effective()
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the files; print the effective policy, or every error with its file:line:column.")
        @OptionGroup var layers: Layers
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let policy = try layers.effective()
            // Compile too: a rule that parses but cannot be compiled is still an error here.
            _ = try policy.commandPolicy()
            _ = try policy.networkPolicy()
            _ = try policy.filePolicy()
            if output.json { return try printJSON(policy) }
            print("\(layers.file): ok")
            for line in policy.summary { print("  \(line)") }
            for note in policy.notes { print("note: \(note)") }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the decision for a command (or, with --host, a connection) and the rule that made it.",
            discussion: "Examples: paddock policy explain runtime.yml -- git push origin main\n"
                + "          paddock policy explain runtime.yml --host api.stripe.com:443")
        @OptionGroup var layers: Layers
        @Option(help: "Explain a network connection to HOST[:PORT] instead of a command.") var host: String?
        @Argument(parsing: .postTerminator, help: "The command, after --.") var command: [String] = []

        func run() async throws {
            let policy = try layers.effective()
            if let host {
                var name = host
                var port: UInt16?
                if let colon = host.lastIndex(of: ":"), let p = UInt16(host[host.index(after: colon)...]) {
                    name = String(host[..<colon])
                    port = p
                }
                print(try policy.networkPolicy().decide(host: name, port: port))
                return
            }
            let argv = command.first == "--" ? Array(command.dropFirst()) : command
            guard !argv.isEmpty else { throw ValidationError("give a command after --, or --host HOST[:PORT]") }
            print(try policy.commandPolicy().decide(argv))
        }
    }
}
