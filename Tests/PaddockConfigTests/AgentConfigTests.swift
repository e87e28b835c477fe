import Foundation
import PaddockCore
import Testing

@testable import PaddockConfig

/// `agent:` (instructions, skills, MCP servers) and `review:` of runtime.yml.
struct AgentConfigTests {
    @Test func readsInstructionsSkillsAndServers() throws {
        let config = try RuntimeConfig.parse(
            """
            version: 1
            agent:
              instructions: {file: ./docs/agents.md}
              skills: [.claude/skills/review, /opt/skills/deploy]
              mcp_servers:
                notes:
                  command: [python3, /opt/notes.py, --quiet]
                  env: {LOG_LEVEL: warning}
                tracker: {url: "https://mcp.tracker.example/mcp", secret: TRACKER_TOKEN}
            review: {exclude_generated: true, exclude: ["*.log", tmp/]}
            """)
        #expect(config.agent.instructions == .file("docs/agents.md"))
        #expect(config.agent.skills.map(\.value) == [".claude/skills/review", "/opt/skills/deploy"])
        #expect(config.agent.skills.first?.origin == RuleOrigin(file: "runtime.yml", line: 4, column: 12))
        #expect(
            config.agent.mcpServers.map(\.transport) == [
                .stdio(command: ["python3", "/opt/notes.py", "--quiet"], env: ["LOG_LEVEL": "warning"]),
                .remote(url: "https://mcp.tracker.example/mcp", secret: "TRACKER_TOKEN"),
            ])
        #expect(config.agent.mcpServers.map(\.name) == ["notes", "tracker"])
        #expect(config.review == ReviewConfig(excludeGenerated: true, exclude: ["*.log", "tmp/"]))

        let text = try RuntimeConfig.parse("version: 1\nagent:\n  instructions: |\n    Run the tests.\n")
        #expect(text.agent.instructions == .text("Run the tests.\n"))
        #expect(try RuntimeConfig.parse("version: 1\n").agent.isEmpty)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var yaml: String
        var line: Int
        var column: Int
        var message: String
        var testDescription: String { message }
    }

    static let cases: [Case] = [
        Case(
            yaml: "version: 1\nagent:\n  instructoins: hi\n", line: 3, column: 3,
            message: "unknown key 'instructoins' in agent; did you mean 'instructions'?"),
        Case(
            yaml: "version: 1\nagent:\n  instructions: {path: a.md}\n", line: 3, column: 17,
            message: "agent.instructions needs 'file: PATH'"),
        Case(
            yaml: "version: 1\nagent:\n  skills: [../outside]\n", line: 3, column: 12,
            message: "agent.skills '../outside' is not a path"),
        Case(
            yaml: "version: 1\nagent:\n  skills: [a/review, b/review]\n", line: 3, column: 22,
            message: "agent.skills lists two directories named 'review'"),
        Case(
            yaml: "version: 1\nagent:\n  mcp_servers:\n    notes: {}\n", line: 4, column: 5,
            message: "agent.mcp_servers.notes needs command"),
        Case(
            yaml: "version: 1\nagent:\n  mcp_servers:\n    notes: {command: [x], url: 'https://a.example'}\n", line: 4,
            column: 5, message: "has both command and url"),
        Case(
            yaml: "version: 1\nagent:\n  mcp_servers:\n    tracker: {url: 'http://a.example/mcp'}\n", line: 4,
            column: 20, message: "is not an https:// URL"),
        Case(
            yaml: "version: 1\nagent:\n  mcp_servers:\n    'my notes': {command: [x]}\n", line: 4, column: 5,
            message: "MCP server name 'my notes' is not valid"),
        Case(
            yaml: "version: 1\nagent:\n  mcp_servers:\n    t: {url: 'https://a.example', secret: 'a-b'}\n", line: 4,
            column: 43, message: "agent.mcp_servers.t.secret 'a-b' is not a secret name"),
        Case(
            yaml: "version: 1\nagent:\n  mcp_servers:\n    t: {command: [x], secret: TOKEN}\n", line: 4,
            column: 31, message: "agent.mcp_servers.t.secret is for remote servers"),
        Case(
            yaml: "version: 1\nreview: {exclude_generated: yes please}\n", line: 2, column: 29,
            message: "review.exclude_generated is true or false"),
    ]

    @Test(arguments: cases)
    func pointsAtTheProblem(_ c: Case) throws {
        do {
            _ = try RuntimeConfig.parse(c.yaml)
            Issue.record("expected an error containing: \(c.message)")
        } catch {
            #expect("\(error.line):\(error.column)" == "\(c.line):\(c.column)", "\(error)")
            #expect(error.message.contains(c.message), "\(error)")
        }
    }
}
