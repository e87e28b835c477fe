import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockGateway
import PaddockHost
import Testing

/// A session's remote MCP servers (`agent.mcp_servers` URLs) are intercepted even without a secret, and every
/// JSON-RPC `tools/call` sent to their endpoint is in the gateway's audit event, read from the request itself;
/// the request and its answer pass unchanged, and other paths of the host are not read.
@Suite(.serialized)
struct GatewayMCPAuditTests {
    /// A streamable-HTTP MCP endpoint as far as the wire goes: `POST /mcp` answers each JSON-RPC request with a
    /// result naming its method.
    static func mcpUpstream() async throws -> LoopbackUpstream {
        try await LoopbackUpstream.start { router in
            router.post("/mcp") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] ?? [:]
                let answer: [String: Any] = [
                    "jsonrpc": "2.0", "id": object["id"] ?? NSNull(),
                    "result": ["content": [["type": "text", "text": "did \(object["method"] ?? "-")"]]],
                ]
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: answer))))
            }
            router.post("/other") { _, _ in "other" }
        }
    }

    static func post(_ client: HTTPClient, _ url: String, _ json: String) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: "application/json, text/event-stream")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await client.execute(request, timeout: .seconds(20))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    @Test func toolCallsToARemoteMCPServerAreAuditedFromTheWire() async throws {
        let upstream = try await Self.mcpUpstream()
        let harness = try await GatewayHarness.make(
            policy: try policy(allow: ["127.0.0.1:\(upstream.port)"]), trust: [try upstream.authority.trustRoot()])
        let server = GatewayMCPServer(name: "tracker", host: "127.0.0.1", port: UInt16(upstream.port), path: "/mcp")
        harness.session.setMCPServers([server])
        try await cleanup(harness, [upstream]) {
            // The client trusts only the session CA: the MCP server's host is intercepted though no secret goes there.
            try await harness.with(trusting: [try harness.session.authority.trustRoot()]) { client in
                let initialize = #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#
                let (status, answer) = try await Self.post(client, "\(upstream.baseURL)/mcp", initialize)
                #expect(status == 200 && answer.contains("did initialize"), "\(answer)")
                let call =
                    #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_issue","arguments":{"title":"Flaky test/CI","labels":["ci"]}}}"#
                let (callStatus, result) = try await Self.post(client, "\(upstream.baseURL)/mcp?x=1", call)
                #expect(callStatus == 200 && result.contains("did tools"), "\(result)")
                let big = String(repeating: "a", count: 10_000)
                let long =
                    #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"note","arguments":{"text":"\#(big)"}}}"#
                _ = try await Self.post(client, "\(upstream.baseURL)/mcp", long)
                // Another path of the same host is not read.
                let (otherStatus, _) = try await Self.post(client, "\(upstream.baseURL)/other", call)
                #expect(otherStatus == 200)
            }
            let events = await harness.events(atLeast: 4)
            #expect(events.allSatisfy { $0.mode == "intercept" }, "\(events.map(\.mode))")
            let calls = events.compactMap(\.mcpCalls).flatMap { $0 }
            #expect(calls.count == 2, "\(calls)")
            let arguments = #"{"labels":["ci"],"title":"Flaky test/CI"}"#
            #expect(
                calls.first
                    == GatewayMCPCall(server: "tracker", tool: "create_issue", arguments: arguments, truncated: false))
            #expect(calls.last?.tool == "note" && calls.last?.truncated == true)
            #expect((calls.last?.arguments?.utf8.count ?? 0) <= 4096)
            #expect(events.first { $0.path == "/other" }?.mcpCalls == nil)
        }
    }

    @Test func theAuditTrailGetsOneEventPerToolCall() async throws {
        let recorder = AuditTrailGatewaySinkTests.Recorder()
        let sink = AuditTrailGatewaySink(audit: recorder, next: nil)
        var event = GatewayAuditEvent(
            session: "abc123", method: "POST", host: "mcp.tracker.example", port: 443, path: "/mcp",
            mode: "intercept", decision: "allow")
        event.status = 200
        event.mcpCalls = [
            GatewayMCPCall(server: "tracker", tool: "create_issue", arguments: #"{"title":"x"}"#, truncated: false)
        ]
        try await sink.record(event)
        let recorded = recorder.recorded.withLock { $0 }
        #expect(recorded.map(\.1) == ["network.request", "network.mcp_tool_call"])
        let fields = try #require(recorded.last?.3)
        #expect(fields["server"] == .string("tracker") && fields["tool"] == .string("create_issue"))
        #expect(fields["arguments"] == .string(#"{"title":"x"}"#) && fields["host"] == .string("mcp.tracker.example"))
        #expect(recorded.last?.2.user == "sandbox")
    }
}
