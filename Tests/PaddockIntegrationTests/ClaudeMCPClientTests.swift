import Foundation
import PaddockCore
import PaddockTestSupport
import Testing

/// The real Claude Code, outside any sandbox (as on a laptop), using a real `paddock server`'s `/mcp` as its MCP
/// server (`--mcp-config`, the Paddock token as bearer), driven by the scripted model to create a sandbox and run
/// a command in it.
@Suite(.needsSandboxes, .serialized)
struct ClaudeMCPClientTests {
    /// Runs Claude Code with its own home and environment, without blocking a cooperative thread (output to
    /// files, the exit awaited through the termination handler).
    static func run(_ binary: String, _ arguments: [String], env: [String: String], home: String) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        let out = home + "/stdout-\(UUID().uuidString)", err = home + "/stderr-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        p.environment = env
        p.currentDirectoryURL = URL(fileURLWithPath: home)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        p.standardInput = FileHandle.nullDevice
        nonisolated(unsafe) let started = p
        // A child that never exits would hang the whole run: after a generous deadline it is ended by its pid
        // (the test then fails on its exit status).
        let watchdog = Task {
            try await Task.sleep(for: .seconds(300))
            if started.isRunning { kill(started.processIdentifier, SIGKILL) }
        }
        defer { watchdog.cancel() }
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            p.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try p.run() } catch { continuation.resume(throwing: error) }
        }
        return (
            status, try String(contentsOfFile: out, encoding: .utf8), try String(contentsOfFile: err, encoding: .utf8)
        )
    }

    /// Claude Code keeps a GET stream open on its MCP session for the server's messages; the `paddock server`
    /// must still stop when asked (its graceful shutdown used to wait for that stream forever, so this test hung
    /// in its teardown).
    @Test func claudeCodeCreatesASandboxAndRunsACommandThroughPaddocksMCPServer() async throws {
        try AgentRunTests.requireClaude()
        let apiKey = "sk-ant-api03-\(UUID().uuidString)"
        // The second call uses the id the first answered ("<id> running (TTL …)").
        let script: [ScriptedModelServer.Turn] = [
            .tool("mcp__paddock__create_session", input: #"{"ttl_seconds":600}"#),
            .tool(
                "mcp__paddock__exec",
                input: #"{"session":"{{answer:([a-z][a-z0-9]{15}) running .TTL}}","command":"echo made-by-claude"}"#),
            .say("The sandbox said made-by-claude."),
        ]
        let model = try await ScriptedModelServer.start(apiKey: apiKey, script: script)
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("claude-mcp-\(UUID().uuidString)").path
        defer {
            do { try FileManager.default.removeItem(atPath: home) } catch { Issue.record("cleanup: \(error)") }
        }
        do {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            let ca = home + "/model-ca.pem"
            try model.authority.pem.write(toFile: ca, atomically: true, encoding: .utf8)
            try await CLITests.withServer { server in
                let token = try String(contentsOfFile: server.dataDirectory + "/admin.token", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                let config: [String: Any] = [
                    "mcpServers": [
                        "paddock": [
                            "type": "http", "url": "http://127.0.0.1:\(server.port)/mcp",
                            "headers": ["Authorization": "Bearer \(token)"],
                        ]
                    ]
                ]
                let json = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
                let env = [
                    "HOME": home, "PATH": "/usr/bin:/bin", "ANTHROPIC_API_KEY": apiKey,
                    "ANTHROPIC_BASE_URL": model.baseURL, "NODE_EXTRA_CA_CERTS": ca, "DISABLE_TELEMETRY": "1",
                    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
                    "DISABLE_ERROR_REPORTING": "1", "MCP_TIMEOUT": "60000", "MCP_TOOL_TIMEOUT": "300000",
                ]
                let result = try await Self.run(
                    try #require(AgentTestStack.claudeBinary),
                    [
                        "--print", "--output-format", "stream-json", "--verbose", "--model", "claude-sonnet-4-5",
                        "--mcp-config", json, "--strict-mcp-config",
                        "--allowedTools", "mcp__paddock__create_session,mcp__paddock__exec",
                        "--", "Make a sandbox and say hello from it",
                    ], env: env, home: home)
                #expect(result.status == 0, "\(result.stderr.suffix(2000)) \(result.stdout.suffix(3000))")
                #expect(result.stdout.contains("made-by-claude"), "\(result.stdout.suffix(4000))")

                // The session is Paddock's, its trail names the token's owner, and the command ran in it.
                let requests = await model.requests()
                let id = try #require(
                    requests.compactMap { r -> String? in
                        guard let regex = try? NSRegularExpression(pattern: "([a-z][a-z0-9]{15}) running \\(TTL"),
                            let m = regex.firstMatch(in: r.body, range: NSRange(r.body.startIndex..., in: r.body)),
                            let range = Range(m.range(at: 1), in: r.body)
                        else { return nil }
                        return String(r.body[range])
                    }.first, "no create_session answer reached the model")
                // The CLI is run without blocking a cooperative thread: the test's own servers need them.
                let cli = { (args: [String]) in
                    try await Self.run(
                        TestHost.paddockBinary, args, env: CLITests.CLI.environment(server), home: home)
                }
                let list = try await cli(["session", "list"])
                #expect(list.stdout.contains(id), "\(list.stdout)")
                let audit = try await cli(["audit", "show", id, "--json"])
                #expect(audit.status == 0, "\(audit.stderr)")
                #expect(audit.stdout.contains("echo made-by-claude"), "\(audit.stdout.suffix(3000))")
                #expect(audit.stdout.contains("\"\(UserAccount.ownerName)\""), "\(audit.stdout.suffix(3000))")
                _ = try await cli(["session", "destroy", id])
            }
        } catch {
            await model.stop()
            throw error
        }
        await model.stop()
    }
}
