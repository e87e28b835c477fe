import Foundation
import PaddockCore
import Testing

@testable import PaddockConfig

/// The example from DESIGN.md, verbatim.
let designExample = """
    version: 1
    name: monorepo-agent
    template: {base: host, install: ["pip install -r requirements.txt"]}
    providers: [local, gvisor]
    compute: {cpu: 2, memory: 2GiB, disk: 4GiB, pids: 512, timeout: 30m, idle: 10m}
    secrets:
      STRIPE_API_KEY: {hosts: [api.stripe.com]}
    guardrails:
      commands: {default: allow, allow: [npm, git, pytest], ask: ["git push*"], deny: [rm, sudo]}
      files: {read_only: [.git/hooks, .github/workflows], hidden: ["~/.ssh"]}
      network: {default: deny, allow: ["api.stripe.com", "*.github.com:443", "pypi.org"]}
      changes: {max_lines: 100, protected_branches: [main]}
    rbac:
      engineering: [read, write, approve, submit]
      support: [read]
    """

struct RuntimeConfigTests {
    @Test func designExampleLoads() throws {
        let config = try RuntimeConfig.parse(designExample)
        #expect(config.version == 1)
        #expect(config.name == "monorepo-agent")
        #expect(config.template == TemplateConfig(base: "host", install: ["pip install -r requirements.txt"]))
        #expect(config.providers?.value == ["local", "gvisor"])
        #expect(config.compute.cpu?.value == 2)
        #expect(config.compute.memory?.value == .gibibytes(2))
        #expect(config.compute.disk?.value == .gibibytes(4))
        #expect(config.compute.pids?.value == 512)
        #expect(config.compute.timeout?.value == .seconds(1800))
        #expect(config.compute.idle?.value == .seconds(600))
        #expect(config.compute.resourceLimits().memory == .gibibytes(2))
        #expect(config.secrets.map(\.name) == ["STRIPE_API_KEY"])
        #expect(config.secrets.first?.hosts.map(\.value) == ["api.stripe.com"])

        let commands = config.guardrails.commands
        #expect(commands.defaultAction == .allow)
        #expect(commands.rules(.allow).map(\.pattern) == ["npm", "git", "pytest"])
        #expect(commands.rules(.ask).map(\.pattern) == ["git push*"])
        #expect(commands.rules(.deny).map(\.pattern) == ["rm", "sudo"])
        // Every rule knows where it was written.
        #expect(commands.rules(.deny).first?.origin == RuleOrigin(file: "runtime.yml", line: 9, column: 84))
        #expect(commands.defaultOrigin == RuleOrigin(file: "runtime.yml", line: 9, column: 23))

        #expect(config.guardrails.files.map(\.path) == [".git/hooks", ".github/workflows", "~/.ssh"])
        #expect(config.guardrails.files.map(\.access) == [.readOnly, .readOnly, .hidden])
        #expect(config.guardrails.network.defaultAction == .deny)
        #expect(config.guardrails.network.rules.map(\.pattern) == ["api.stripe.com", "*.github.com:443", "pypi.org"])
        #expect(config.guardrails.changes.maxLines?.value == 100)
        #expect(config.guardrails.changes.protectedBranches.map(\.value) == ["main"])
        #expect(config.rbac == ["engineering": [.read, .write, .approve, .submit], "support": [.read]])
    }

    @Test func designExampleDecides() throws {
        let policy = EffectivePolicy(try RuntimeConfig.parse(designExample))
        let commands = try policy.commandPolicy()
        #expect(commands.decide(["git", "push", "origin", "main"]).action == .ask)
        #expect(commands.decide(["/usr/bin/rm", "-rf", "x"]).action == .deny)
        #expect(commands.decide(["ls"]).action == .allow)
        let network = try policy.networkPolicy()
        #expect(network.decide(host: "api.github.com", port: 443).action == .allow)
        #expect(network.decide(host: "example.com", port: 443).action == .deny)
        #expect(try policy.filePolicy().classify("~/.ssh/id_rsa").access == .hidden)
        #expect(policy.changes.violations(linesChanged: 101, branch: "main").count == 2)
    }

    @Test func minimalFileAndLenientShapes() throws {
        let config = try RuntimeConfig.parse("version: 1\n")
        #expect(config.guardrails.commands.isEmpty)
        #expect(config.providers == nil)
        let lenient = try RuntimeConfig.parse(
            """
            version: 1
            template: host
            providers: gvisor
            checks: npm test
            instructions: |
              Run the tests before you finish.
              Never touch the migrations.
            secrets:
              GITHUB_TOKEN: [api.github.com, "*.githubusercontent.com"]
            guardrails:
              commands: {deny: rm, allow: }
              network: {allow: [api.github.com, "*.githubusercontent.com"]}
            """)
        #expect(lenient.template?.base == "host")
        #expect(lenient.providers?.value == ["gvisor"])
        #expect(lenient.checks == ["npm test"])
        #expect(lenient.instructions == "Run the tests before you finish.\nNever touch the migrations.\n")
        #expect(lenient.secrets.first?.hosts.map(\.value) == ["api.github.com", "*.githubusercontent.com"])
        #expect(lenient.guardrails.commands.rules.map(\.pattern) == ["rm"])
        #expect(lenient.guardrails.commands.defaultAction == nil)
    }

    @Test func aSecretWithoutANetworkSectionIsLeftToTheLayers() throws {
        // The org may allow the host; layering notes it when nothing does.
        let config = try RuntimeConfig.parse("version: 1\nsecrets:\n  TOKEN: {hosts: [api.example.com]}\n")
        let notes = EffectivePolicy(config).notes
        #expect(notes.count == 1)
        #expect(notes.first?.hasPrefix("secret TOKEN (repository runtime.yml:3:19) is for api.example.com") == true)
    }

    @Test func loadsFromDiskAndMapsErrorsAtTheBoundary() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("paddock-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("runtime.yml").path
        try designExample.write(toFile: good, atomically: true, encoding: .utf8)
        #expect(try RuntimeConfig.load(path: good).name == "monorepo-agent")

        let bad = dir.appendingPathComponent("bad.yml").path
        try "version: 1\nguardrails:\n  comands: {}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        #expect {
            try RuntimeConfig.load(path: bad)
        } throws: { error in
            let e = error as? PaddockError
            return e?.code == .invalidArgument
                && e?.message.hasPrefix("\(bad):3:3: unknown key 'comands' in guardrails; did you mean 'commands'?")
                    == true
        }
        #expect {
            try RuntimeConfig.load(path: dir.appendingPathComponent("missing.yml").path)
        } throws: { error in
            (error as? PaddockError)?.code == .notFound
        }
    }
}

/// Every kind of error, with the exact line and column it points at.
struct ConfigErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var yaml: String
        var line: Int
        var column: Int
        var message: String
        var testDescription: String { message }
    }

    static let cases: [Case] = [
        // Unknown keys, with and without a close match.
        Case(
            yaml: "version: 1\nguardrails:\n  comands: {default: allow}\n", line: 3, column: 3,
            message:
                "unknown key 'comands' in guardrails; did you mean 'commands'? (allowed keys: commands, files, network, changes)"
        ),
        Case(
            yaml: "version: 1\nnmae: agent\n", line: 2, column: 1,
            message: "unknown key 'nmae' at the top level; did you mean 'name'?"),
        Case(
            yaml: "version: 1\ncompute:\n  gpu: 1\n", line: 3, column: 3,
            message: "unknown key 'gpu' in compute; did you mean 'cpu'?"),
        Case(
            yaml: "version: 1\nguardrails:\n  netwrok: {}\n", line: 3, column: 3,
            message: "unknown key 'netwrok' in guardrails; did you mean 'network'?"),
        Case(
            yaml: "version: 1\nguardrails:\n  commands: {allow: [ls], block: [rm]}\n", line: 3, column: 27,
            message: "unknown key 'block' in guardrails.commands; allowed keys: default, allow, ask, deny"),
        Case(
            yaml:
                "version: 1\nsecrets:\n  TOKEN: {hosts: [a.example], host: b}\nguardrails: {network: {allow: [a.example]}}\n",
            line: 3, column: 31,
            message: "unknown key 'host' in secrets.TOKEN; did you mean 'hosts'?"),
        // Version.
        Case(yaml: "name: x\n", line: 1, column: 1, message: "'version' is missing; add 'version: 1'"),
        Case(yaml: "version: 2\n", line: 1, column: 10, message: "version '2' is not supported"),
        // Durations, sizes, numbers.
        Case(
            yaml: "version: 1\ncompute:\n  timeout: 30 minutes\n", line: 3, column: 12,
            message: "compute.timeout: '30 minutes' is not a duration; write something like 500ms, 30s, 10m"),
        Case(
            yaml: "version: 1\ncompute: {idle: 0s}\n", line: 2, column: 17,
            message: "compute.idle must be longer than zero"),
        Case(
            yaml: "version: 1\ncompute: {memory: 2 gigs}\n", line: 2, column: 19,
            message: "compute.memory: '2 gigs' has an unknown unit 'gigs'; use B, KiB, MiB, GiB"),
        Case(
            yaml: "version: 1\ncompute: {memory: 8MiB}\n", line: 2, column: 19,
            message: "compute.memory 8MiB is too small; use at least 16MiB"),
        Case(
            yaml: "version: 1\ncompute: {cpu: two}\n", line: 2, column: 16,
            message: "compute.cpu must be a number of cores"),
        Case(
            yaml: "version: 1\ncompute: {pids: 4}\n", line: 2, column: 17,
            message: "compute.pids must be a whole number from 8 to 4194304"),
        Case(
            yaml: "version: 1\nguardrails:\n  changes: {max_lines: 0}\n", line: 3, column: 24,
            message: "guardrails.changes.max_lines must be a whole number from 1"),
        // Patterns.
        Case(
            yaml: "version: 1\nguardrails:\n  network:\n    allow:\n      - https://api.stripe.com/v1\n", line: 5,
            column: 9,
            message:
                "guardrails.network.allow: 'https://api.stripe.com/v1' is a URL; network rules match hosts, so write 'api.stripe.com'"
        ),
        Case(
            yaml: "version: 1\nguardrails:\n  network: {deny: [10.0.0.1/8]}\n", line: 3, column: 20,
            message: "write 10.0.0.0/8 for the block"),
        Case(
            yaml: "version: 1\nguardrails:\n  commands: {deny: [\"rm && ls\"]}\n", line: 3, column: 21,
            message: "guardrails.commands.deny: 'rm && ls' joins several commands with '&'"),
        Case(
            yaml: "version: 1\nguardrails:\n  files: {hidden: [\"*.pem\"]}\n", line: 3, column: 20,
            message: "guardrails.files.hidden: '*.pem' has a wildcard"),
        Case(
            yaml: "version: 1\nguardrails:\n  changes: {protected_branches: [main branch]}\n", line: 3, column: 34,
            message: "'main branch' is not a valid branch name"),
        // Names.
        Case(
            yaml: "version: 1\nguardrails:\n  commands: {default: alow}\n", line: 3, column: 23,
            message: "guardrails.commands.default must be allow, ask or deny; found 'alow'; did you mean 'allow'?"),
        Case(
            yaml: "version: 1\nrbac:\n  eng: [read, wirte]\n", line: 3, column: 15,
            message: "unknown permission 'wirte' for team eng; did you mean 'write'?"),
        Case(
            yaml: "version: 1\nproviders: [local, gvisr]\n", line: 2, column: 20,
            message: "unknown provider 'gvisr'; did you mean 'gvisor'?"),
        Case(
            yaml: "version: 1\nsecrets:\n  stripe-key: {hosts: [api.stripe.com]}\n", line: 3, column: 3,
            message:
                "secret name 'stripe-key' is not an environment variable name; use letters, digits and _, not starting with a digit, such as 'STRIPE_KEY'"
        ),
        Case(
            yaml: "version: 1\nsecrets:\n  TOKEN: {hosts: []}\n", line: 3, column: 3,
            message: "secret TOKEN lists no hosts"),
        Case(
            yaml: "version: 1\nsecrets:\n  TOKEN: {hosts: [\"*\"]}\n", line: 3, column: 19,
            message: "secret TOKEN may not be sent to every host"),
        // Contradictions.
        Case(
            yaml: "version: 1\nguardrails:\n  commands:\n    deny: [rm]\n    allow: [git, 'rm']\n", line: 5, column: 18,
            message: "'rm' is in both deny (line 4, column 12) and allow in guardrails.commands; keep it in one list"),
        Case(
            yaml: "version: 1\nguardrails:\n  network: {allow: [API.example.com], ask: [api.example.com.]}\n", line: 3,
            column: 45,
            message: "'api.example.com.' is in both allow (line 3, column 21) and ask"),
        Case(
            yaml: "version: 1\nguardrails:\n  files: {read_only: [~/.ssh], hidden: [/home/user/.ssh]}\n", line: 3,
            column: 41,
            message: "'/home/user/.ssh' is both read_only (line 3, column 23) and hidden"),
        Case(
            yaml: """
                version: 1
                secrets:
                  STRIPE_API_KEY: {hosts: [api.stripe.com]}
                guardrails:
                  network: {default: deny, allow: [pypi.org]}

                """, line: 3, column: 28,
            message:
                "secret STRIPE_API_KEY is for api.stripe.com on port 443, but guardrails.network denies it by default; add 'api.stripe.com' to guardrails.network.allow"
        ),
        Case(
            yaml: """
                version: 1
                guardrails:
                  network: {allow: ["*.stripe.com"], deny: [api.stripe.com]}
                secrets:
                  STRIPE_API_KEY: {hosts: [api.stripe.com]}

                """, line: 5, column: 28,
            message: "guardrails.network denies it with 'api.stripe.com' (line 3)"),
        // Shapes and YAML itself.
        Case(
            yaml: "version: 1\nguardrails: [commands]\n", line: 2, column: 13,
            message: "guardrails must be a mapping with commands, files, network and changes; found a list"),
        Case(
            yaml: "version: 1\nguardrails:\n  commands: {allow: [{git: push}]}\n", line: 3, column: 22,
            message: "each item of guardrails.commands.allow must be a command pattern"),
        Case(yaml: "- version: 1\n", line: 1, column: 1, message: "the file must be a mapping of keys"),
        Case(yaml: "", line: 1, column: 1, message: "the file is empty; start it with 'version: 1'"),
        Case(yaml: "version: 1\nname: [unclosed\n", line: 3, column: 1, message: "YAML syntax:"),
        Case(yaml: "version: 1\nname: a\nname: b\n", line: 2, column: 1, message: "'name' appears more than once"),
    ]

    @Test(arguments: cases)
    func pointsAtTheProblem(_ c: Case) throws {
        do {
            _ = try RuntimeConfig.parse(c.yaml)
            Issue.record("expected an error containing: \(c.message)")
        } catch {
            #expect(error.file == "runtime.yml")
            #expect("\(error.line):\(error.column)" == "\(c.line):\(c.column)", "\(error)")
            #expect(error.message.contains(c.message), "\(error)")
            #expect(error.description.hasPrefix("runtime.yml:\(c.line):\(c.column): "))
        }
    }

    @Test func reportsEveryProblemInFileOrder() throws {
        let yaml = """
            version: 1
            compute: {memory: lots, cpu: 0}
            guardrails:
              comands: {}
              network: {default: maybe}
            """
        do {
            _ = try RuntimeConfig.parse(yaml, file: "repo/runtime.yml")
            Issue.record("expected errors")
        } catch {
            #expect(error.all.map { "\($0.line):\($0.column)" } == ["2:19", "2:30", "4:3", "5:22"])
            #expect(error.description.split(separator: "\n").count == 4)
            #expect(error.description.hasPrefix("repo/runtime.yml:2:19: compute.memory: 'lots' is not a size"))
            #expect(error.paddockError.code == .invalidArgument)
            #expect(error.paddockError.message == error.description)
        }
    }

    @Test(arguments: [("comands", "commands"), ("Commands", "commands"), ("netwrok", "network"), ("gvisr", "gvisor")])
    func suggestsCloseSpellings(typed: String, meant: String) {
        #expect(Spelling.suggestion(for: typed, among: ["commands", "network", "files", "gvisor"]) == meant)
    }

    @Test func doesNotSuggestDistantWords() {
        #expect(Spelling.suggestion(for: "xyz", among: ["commands", "network", "files"]) == nil)
        #expect(Spelling.suggestion(for: "cpus", among: ["cpu", "pids"]) == "cpu")
    }
}
