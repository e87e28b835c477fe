import Foundation
import PaddockConfig
import PaddockCore
import Testing

@testable import PaddockServices

/// The agent context merged from policy layers and written in each agent's format, without sandboxes.
struct AgentContextUnitTests {
    static func policy(_ layers: [(String, String)]) -> SessionPolicy {
        SessionPolicy(
            sources: layers.map { SessionPolicy.Source(layer: $0.0, file: "\($0.0).yml", text: $0.1) }, summary: [],
            notes: [], effective: "{}", guardsCommands: false)
    }

    @Test func layersAddUpAndTheOutermostServerDefinitionWins() {
        let context = AgentContext.of(
            Self.policy([
                (
                    "org",
                    """
                    version: 1
                    agent:
                      instructions: Be brief.
                      mcp_servers: {tracker: {url: "https://mcp.tracker.example/mcp", secret: TRACKER_TOKEN}}
                    """
                ),
                (
                    "repository",
                    """
                    version: 1
                    agent:
                      instructions: {file: AGENTS.extra.md}
                      skills: [skills/review]
                      mcp_servers:
                        tracker: {url: "https://elsewhere.example/mcp"}
                        notes: {command: [python3, notes.py]}
                    """
                ),
            ]))
        #expect(context.instructions.map(\.layer) == ["org", "repository"])
        #expect(context.instructions.last?.source == .file("AGENTS.extra.md"))
        #expect(context.skills == ["/workspace/skills/review"])
        #expect(context.mcpServers.map(\.name) == ["tracker", "notes"])
        #expect(
            context.mcpServers.first?.transport
                == .remote(url: "https://mcp.tracker.example/mcp", secret: "TRACKER_TOKEN"))
        #expect(context.remoteSecrets.map(\.secret) == ["TRACKER_TOKEN"])
        #expect(AgentContext.of(nil).isEmpty)
    }

    @Test func eachAgentGetsTheServersInItsOwnFormat() throws {
        let context = AgentContext(
            mcpServers: [
                MCPServerConfig(name: "notes", transport: .stdio(command: ["python3", "n.py"], env: ["A": "1"])),
                MCPServerConfig(name: "tracker", transport: .remote(url: "https://t.example/mcp", secret: "TOKEN")),
            ])
        let json = try #require(context.claudeMCPConfig(placeholders: ["TOKEN": "PADDOCK-PLACEHOLDER-x"]))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let servers = try #require(object["mcpServers"] as? [String: [String: Any]])
        #expect(servers["notes"]?["command"] as? String == "python3")
        #expect(servers["notes"]?["args"] as? [String] == ["n.py"])
        #expect(servers["tracker"]?["type"] as? String == "http")
        // Only the placeholder: the gateway swaps in the value on the secret's hosts.
        #expect(
            (servers["tracker"]?["headers"] as? [String: String])?["Authorization"] == "Bearer PADDOCK-PLACEHOLDER-x")

        let codex = context.codexMCPOverrides
        #expect(codex.contains("mcp_servers.notes.command=\"python3\""))
        #expect(codex.contains("mcp_servers.notes.args=[\"n.py\"]"))
        #expect(codex.contains("mcp_servers.notes.env={A=\"1\"}"))
        #expect(codex.contains("mcp_servers.tracker.url=\"https://t.example/mcp\""))
        #expect(codex.contains("mcp_servers.tracker.bearer_token_env_var=\"TOKEN\""))
        // Waited for before the first model request, so the model is offered their tools.
        #expect(codex.contains("mcp_servers.notes.required=true"))
        #expect(codex.contains("mcp_servers.tracker.required=true"))

        // The options go before the prompt, so they are options and the prompt stays the prompt.
        let claude = AgentDefinition.claudeCode().commandLine(
            prompt: "go", model: nil, resume: nil, extra: ["--append-system-prompt", "Be brief."])
        #expect(Array(claude.suffix(4)) == ["--append-system-prompt", "Be brief.", "--", "go"])
        let codexLine = AgentDefinition.codex().commandLine(prompt: "go", model: nil, resume: nil, extra: codex)
        #expect(
            Array(codexLine.suffix(2)) == ["--", "go"] && codexLine.contains("mcp_servers.notes.command=\"python3\""))
    }

    @Test func mcpToolNamesOfBothAgents() {
        #expect(AgentContext.mcpTool("mcp__notes__lookup")! == ("notes", "lookup"))
        #expect(AgentContext.mcpTool("mcp:notes/lookup")! == ("notes", "lookup"))
        #expect(AgentContext.mcpTool("Bash") == nil)
        #expect(AgentContext.mcpTool("mcp__broken") == nil)
    }
}
