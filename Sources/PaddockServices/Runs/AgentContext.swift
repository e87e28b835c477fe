import Foundation
import PaddockConfig
import PaddockCore
import PaddockGateway
import PaddockSandbox

/// The `agent:` sections of a session's policy layers merged, org first: what every run in the session gets,
/// whichever agent runs it. Instructions add up (each under its layer's heading), skills add up, and an MCP
/// server keeps the definition of the outermost layer that names it (a repository cannot point the org's
/// server elsewhere).
struct AgentContext: Sendable, Equatable {
    struct Instructions: Sendable, Equatable {
        var layer: String
        var source: AgentConfig.Instructions
    }

    var instructions: [Instructions] = []
    /// Sandbox paths, relative ones against /workspace.
    var skills: [String] = []
    var mcpServers: [MCPServerConfig] = []

    var isEmpty: Bool { instructions.isEmpty && skills.isEmpty && mcpServers.isEmpty }

    static func of(_ policy: SessionPolicy?) -> AgentContext {
        var context = AgentContext()
        for source in policy?.sources ?? [] {
            guard let config = source.config(for: "agent context") else { continue }
            if let instructions = config.agent.instructions {
                context.instructions.append(Instructions(layer: source.layer, source: instructions))
            }
            for skill in config.agent.skills {
                let path = absolute(skill.value)
                if !context.skills.contains(path) { context.skills.append(path) }
            }
            for server in config.agent.mcpServers where !context.mcpServers.contains(where: { $0.name == server.name })
            {
                context.mcpServers.append(server)
            }
        }
        return context
    }

    /// A path of `agent:` inside the sandbox: relative ones are the repository's, in /workspace.
    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : SandboxLayout.workspace + "/" + path
    }

    /// The remote servers as the gateway reads their traffic (host, port and endpoint path of each URL), so it
    /// audits their tool calls. A URL without a host (refused when the policy is read) is left out.
    var gatewayMCPServers: [GatewayMCPServer] {
        mcpServers.compactMap { server in
            guard case .remote(let url, _) = server.transport, let components = URLComponents(string: url),
                let host = components.host
            else { return nil }
            let port = UInt16(clamping: components.port ?? (components.scheme == "http" ? 80 : 443))
            return GatewayMCPServer(name: server.name, host: host, port: port, path: components.path)
        }
    }

    /// The vault secrets remote servers send, each with the session variable that holds its placeholder.
    var remoteSecrets: [(server: String, secret: String)] {
        mcpServers.compactMap {
            if case .remote(_, let secret?) = $0.transport { ($0.name, secret) } else { nil }
        }
    }
}

/// What one agent gets of the context: arguments added to its command line and variables to its environment
/// (the files it reads are written in its home before it starts).
struct AgentLaunch: Sendable, Equatable {
    var arguments: [String] = []
    var env: [String: String] = [:]
}

extension AgentContext {
    /// The `--mcp-config` JSON Claude Code takes: stdio servers as commands, remote ones over streamable HTTP
    /// with the secret's placeholder as the bearer token (the gateway swaps it for the value on the secret's
    /// hosts). `placeholders` maps secret names to the session's placeholders.
    func claudeMCPConfig(placeholders: [String: String]) -> String? {
        guard !mcpServers.isEmpty else { return nil }
        var servers: [String: Any] = [:]
        for server in mcpServers {
            switch server.transport {
            case .stdio(let command, let env):
                var entry: [String: Any] = [
                    "type": "stdio", "command": command[0], "args": Array(command.dropFirst()),
                ]
                if !env.isEmpty { entry["env"] = env }
                servers[server.name] = entry
            case .remote(let url, let secret):
                var entry: [String: Any] = ["type": "http", "url": url]
                if let secret, let placeholder = placeholders[secret] {
                    entry["headers"] = ["Authorization": "Bearer \(placeholder)"]
                }
                servers[server.name] = entry
            }
        }
        let data: Data
        do {
            data = try JSONSerialization.data(withJSONObject: ["mcpServers": servers], options: [.sortedKeys])
        } catch {
            // Strings, arrays and dictionaries of strings always serialize.
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Codex's `mcp_servers` table as `-c` overrides (its own config format, without touching the user's
    /// `~/.codex/config.toml`): stdio servers as commands, remote ones with the secret's variable (holding its
    /// placeholder) as the bearer token.
    var codexMCPOverrides: [String] {
        var args: [String] = []
        for server in mcpServers {
            let key = "mcp_servers.\(server.name)"
            switch server.transport {
            case .stdio(let command, let env):
                args += ["-c", "\(key).command=\(AgentDefinition.tomlString(command[0]))"]
                let rest = command.dropFirst().map(AgentDefinition.tomlString).joined(separator: ",")
                args += ["-c", "\(key).args=[\(rest)]"]
                if !env.isEmpty {
                    let pairs = env.keys.sorted().map { "\($0)=\(AgentDefinition.tomlString(env[$0] ?? ""))" }
                    args += ["-c", "\(key).env={\(pairs.joined(separator: ","))}"]
                }
            case .remote(let url, let secret):
                args += ["-c", "\(key).url=\(AgentDefinition.tomlString(url))"]
                if let secret { args += ["-c", "\(key).bearer_token_env_var=\(AgentDefinition.tomlString(secret))"] }
            }
            // Codex 0.147 starts MCP servers in the background and sends its first model request without the
            // tools of a server not ready yet (a Python server takes over a second to import `mcp`), so the
            // model never sees them; a required server is waited for (and one that cannot start fails the run,
            // which is what a policy that gives every run this server means). A server in a busy sandbox can
            // take a while to start; a run is worth the wait.
            args += ["-c", "\(key).required=true", "-c", "\(key).startup_timeout_sec=60"]
        }
        return args
    }

    /// The MCP server and tool of a tool call as the agents name them: Claude Code's `mcp__server__tool`,
    /// the run record's `mcp:server/tool` for Codex. Nil for other tools.
    static func mcpTool(_ name: String) -> (server: String, tool: String)? {
        if name.hasPrefix("mcp:") {
            let rest = name.dropFirst(4)
            guard let slash = rest.firstIndex(of: "/") else { return nil }
            return (String(rest[..<slash]), String(rest[rest.index(after: slash)...]))
        }
        if name.hasPrefix("mcp__") {
            let rest = name.dropFirst(5)
            guard let split = rest.range(of: "__") else { return nil }
            return (String(rest[..<split.lowerBound]), String(rest[split.upperBound...]))
        }
        return nil
    }
}

/// What a run is started with: its prompt, model, the conversation it continues and the session's agent context.
struct RunLaunch: Sendable {
    var prompt: String
    var model: String?
    var resume: String?
    var context: AgentContext
}
