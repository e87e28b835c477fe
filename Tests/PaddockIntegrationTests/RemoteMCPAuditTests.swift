import Foundation
import NIOSSL
import PaddockCore
import PaddockSandbox
import PaddockServices
import PaddockTestSupport
import Testing

/// A remote MCP server in `agent.mcp_servers` (the `mcp` package's streamable HTTP server, HTTPS on the host's loopback),
/// called by the real Claude Code in a real runc session through the egress gateway: the gateway reads the call
/// off the wire, so the session's audit trail has `network.mcp_tool_call` naming the server and the tool, beside
/// the agent's own account of it (`mcp.tool_call`) and the tool's answer in the run's record.
@Suite(.needsSandboxes, .serialized)
struct RemoteMCPAuditTests {
    static let serverScript =
        AgentContextTests.repository + "/Tests/PaddockIntegrationTests/Fixtures/remote_notes_mcp_server.py"

    /// A self-signed certificate for 127.0.0.1 (the gateway is given it as a root), and its key.
    static func certificate(directory: String) async throws -> NIOSSLCertificate {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", directory + "/mcp.key",
            "-out", directory + "/mcp.crt",
        ]
        p.standardOutput = Pipe()
        p.standardError = Pipe()
        let made = try await ChildProcess.run(p)
        #expect(made.status == 0, "\(made.stderr)")
        return try NIOSSLCertificate(file: directory + "/mcp.crt", format: .pem)
    }

    /// Starts the remote notes server (HTTPS); its port once it listens.
    static func startServer(directory: String) async throws -> (Process, Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try MCPTests.requirePython())
        p.arguments = [serverScript, directory + "/mcp.port", directory + "/mcp.crt", directory + "/mcp.key"]
        _ = FileManager.default.createFile(atPath: directory + "/mcp.log", contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: directory + "/mcp.log")
        p.standardError = FileHandle(forWritingAtPath: directory + "/mcp.log")
        try p.run()
        do {
            let port = try await MetricsTests.portFile(directory + "/mcp.port")
            return (p, try #require(Int(port), "the MCP server wrote '\(port)' as its port"))
        } catch {
            await MetricsTests.stop(p)
            throw error
        }
    }

    @Test func claudeCodesCallToARemoteMCPServerIsAuditedByTheGateway() async throws {
        try AgentRunTests.requireClaude()
        let scratch = TestHost.makeDataDirectory("remote-mcp")
        defer { TestHost.removeDataDirectory(scratch) }
        let certificate = try await Self.certificate(directory: scratch)
        let (server, port) = try await Self.startServer(directory: scratch)
        do { try await Self.callThroughTheGateway(port: port, certificate: certificate) } catch {
            await MetricsTests.stop(server)
            throw error
        }
        await MetricsTests.stop(server)
    }

    static func callThroughTheGateway(port: Int, certificate: NIOSSLCertificate) async throws {
        let call = ScriptedModelServer.Turn.tool("mcp__tracker__lookup", input: #"{"key":"deploy"}"#)
        try await AgentTestStack.with(
            "remote-mcp-claude", apiKey: "sk-ant-api03-\(UUID().uuidString)\(UUID().uuidString)",
            script: [call, .say("The window is Tuesday.")], trust: [certificate]
        ) { agents in
            let policy = PolicyText(
                text: """
                    version: 1
                    agent:
                      mcp_servers:
                        tracker: {url: "https://127.0.0.1:\(port)/mcp"}
                    """, file: "runtime.yml")
            let session = try await agents.sessions.create(agents.sessionSpec(), policy: policy)
            let run = try await agents.runs.wait(
                try await agents.runs.start(
                    session: session.id, prompt: "When is the deploy window?", model: "claude-sonnet-4-5",
                    by: "tester"
                ).id)
            #expect(run.status == .completed, "\(run.reason ?? "") \(run.errors)")
            var events: [RunEvent] = []
            for await e in try await agents.runs.events(run.id) { events.append(e) }
            #expect(
                events.contains {
                    $0.kind == "tool_result" && $0.tool == "mcp__tracker__lookup"
                        && $0.text?.contains(AgentContextTests.note) == true
                }, "\(events.map { "\($0.kind) \($0.tool ?? "-") \($0.text?.prefix(200) ?? "")" })")
            let audit = try #require(agents.sessions.audit)
            let trail = try await audit.events(session: session.id)
            let wire = trail.filter { $0.kind == "network.mcp_tool_call" }
            #expect(wire.count == 1, "\(trail.map(\.kind))")
            #expect(wire.first?.fields["server"] == .string("tracker"), "\(wire)")
            #expect(wire.first?.fields["tool"] == .string("lookup"), "\(wire)")
            #expect(wire.first?.fields["host"] == .string("127.0.0.1"), "\(wire)")
            #expect(wire.first?.fields["status"] == .int(200), "\(wire)")
            if case .string(let arguments)? = wire.first?.fields["arguments"] {
                #expect(arguments.contains("deploy"), "\(arguments)")
            } else {
                Issue.record("the gateway did not record the call's arguments: \(wire)")
            }
            // The agent's own account of the same call.
            #expect(trail.contains { $0.kind == "mcp.tool_call" && $0.fields["server"] == .string("tracker") })
        }
    }
}
