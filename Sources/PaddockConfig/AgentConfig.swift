import PaddockCore

/// `agent:` — the context every run of every agent gets in a session under this policy, defined once and
/// given to each agent in its own format (Claude Code's system prompt, skills folder and `--mcp-config`; Codex's
/// `~/.codex/AGENTS.md`, skills folder and `mcp_servers`). Nothing of it is written into /workspace, so the
/// user's files and the change stay as they are.
public struct AgentConfig: Sendable, Equatable {
    /// Standing instructions: text, or a file of the repository (read from the workspace when a run starts).
    public enum Instructions: Sendable, Equatable {
        case text(String)
        /// Relative to /workspace, or absolute inside the sandbox.
        case file(String)
    }

    public var instructions: Instructions?
    /// Directories (each a skill with its `SKILL.md`) copied into the agent's skills folder, relative to
    /// /workspace or absolute inside the sandbox (a template's).
    public var skills: [Sourced<String>]
    public var mcpServers: [MCPServerConfig]

    public init(instructions: Instructions? = nil, skills: [Sourced<String>] = [], mcpServers: [MCPServerConfig] = []) {
        self.instructions = instructions
        self.skills = skills
        self.mcpServers = mcpServers
    }

    public var isEmpty: Bool { instructions == nil && skills.isEmpty && mcpServers.isEmpty }

    /// The most instructions text (or file) one layer may give: it goes into every run's prompt.
    public static let maxInstructionsBytes = 64 << 10
}

/// One MCP server of `agent.mcp_servers`: a stdio command available in the session's template, or a remote
/// server reached over streamable HTTP through the egress gateway.
public struct MCPServerConfig: Sendable, Equatable {
    public enum Transport: Sendable, Equatable {
        /// The program and its arguments, started by the agent inside the sandbox.
        case stdio(command: [String], env: [String: String])
        /// An `https://` URL. `secret` names a vault secret the session holds: the agent sends its placeholder as
        /// the bearer token and the gateway swaps in the value for the secret's hosts only.
        case remote(url: String, secret: String?)
    }

    /// Letters, digits, `-` and `_` (both agents use it in tool names).
    public var name: String
    public var transport: Transport
    public var origin: RuleOrigin?

    public init(name: String, transport: Transport, origin: RuleOrigin? = nil) {
        self.name = name
        self.transport = transport
        self.origin = origin
    }

    /// Whether a name can be a server's: both agents build tool names from it.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || "0123456789-_".contains(Character($0)))
            }
    }
}
