import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

/// `paddock secrets set|list|rm`: the vault. Values are read from stdin and never printed.
struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets", abstract: "Store secrets that sessions use without ever seeing them.",
        discussion: """
            A session started with --secret NAME gets a placeholder in $NAME; the egress gateway swaps it for the
            value only in requests to the secret's hosts, over TLS.
            """,
        subcommands: [Set.self, List.self, Remove.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a secret; the value is read from stdin (one line).")
        @Argument(help: "The secret's name, which is also the variable sessions see, e.g. STRIPE_API_KEY.")
        var name: String
        @Option(help: "Hosts the value may be sent to, comma-separated (api.example.com,*.example.com:443).")
        var hosts: String
        @Option(help: "The team that owns the secret.") var team: String?
        @Flag(help: "Also inject the value into plaintext http:// requests (off by default).")
        var allowHTTP = false
        @Flag(help: "Also swap the placeholder in request bodies (JSON, forms) to these hosts, up to 8 MiB.")
        var inBody = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let input = FileHandle.standardInput.readDataToEndOfFile()
            var value = String(decoding: input, as: UTF8.self)
            // `echo value | paddock secrets set` adds one newline; the value is the line.
            if value.hasSuffix("\r\n") { value.removeLast(2) } else if value.hasSuffix("\n") { value.removeLast() }
            let hostList = hosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            let body = SetSecretBody(
                value: value, hosts: hostList, team: team, allowHttp: allowHTTP, inBody: inBody)
            let s = try await APIClient.fromEnvironment().call(
                .PUT, "/v1/secrets/\(name)", json: body, as: SecretBody.self)
            if output.json { return try printJSON(s) }
            print("stored \(s.name) (team \(s.team)) for \(s.hosts.joined(separator: ", "))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List secrets by name (values are never shown).")
        @Option(help: "The team whose secrets to list.") var team: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let path = "/v1/secrets" + (team.map { "?" + APIClient.query(["team": $0]) } ?? "")
            let list = try await APIClient.fromEnvironment().call(.GET, path, as: SecretListBody.self)
            if output.json { return try printJSON(list) }
            print("NAME                      TEAM        HOSTS")
            for s in list.secrets {
                print(
                    [
                        s.name.padding(24), s.team.padding(10),
                        s.hosts.joined(separator: ",") + (s.allowHttp ? " (+http)" : "") + (s.inBody ? " (+body)" : ""),
                    ]
                    .joined(separator: "  "))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a secret.")
        @Argument(help: "The secret's name.") var name: String
        @Option(help: "The team that owns the secret.") var team: String?

        func run() async throws {
            let path = "/v1/secrets/\(name)" + (team.map { "?" + APIClient.query(["team": $0]) } ?? "")
            _ = try await APIClient.fromEnvironment().raw(.DELETE, path)
            print("removed \(name)")
        }
    }
}

extension SessionCommand {
    /// `paddock session network ID --allow … --deny …`: changes a running session's rules, no restart.
    struct Network: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or change a running session's network rules; changes apply to the next request.")
        @Argument(help: "Session id.") var id: String
        @Option(help: ArgumentHelp("Allow a host, *.suffix, host:port or CIDR (repeatable).", valueName: "HOST"))
        var allow: [String] = []
        @Option(help: ArgumentHelp("Deny a host, *.suffix, host:port or CIDR (repeatable).", valueName: "HOST"))
        var deny: [String] = []
        @Flag(help: "Replace the session's rules instead of adding to them.") var replace = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            let rules: NetworkBody
            if allow.isEmpty && deny.isEmpty && !replace {
                rules = try await client.call(.GET, "/v1/sessions/\(id)/network", as: NetworkBody.self)
            } else {
                rules = try await client.call(
                    .PUT, "/v1/sessions/\(id)/network",
                    json: NetworkChangeBody(allow: allow, deny: deny, replace: replace), as: NetworkBody.self)
            }
            if output.json { return try printJSON(rules) }
            if rules.allow.isEmpty && rules.deny.isEmpty && rules.ask.isEmpty {
                print("no rules: nothing leaves the sandbox (add one with --allow HOST)")
            }
            for host in rules.allow { print("allow  \(host)") }
            for host in rules.ask { print("ask    \(host)") }
            for host in rules.deny { print("deny   \(host)") }
        }
    }
}
