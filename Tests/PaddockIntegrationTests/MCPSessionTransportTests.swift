import Foundation
import MCP
import PaddockServices
import Testing

@testable import PaddockServer

/// The MCP door's own transport, driven in-process with swift-sdk's server on it: a request is answered with one
/// JSON body, a request that asks for progress gets it on its own event stream before its answer, other server
/// messages go to the GET stream, and ending the session answers what still waits.
@Suite struct MCPSessionTransportTests {
    static let headers = [
        "Accept": "application/json, text/event-stream", "Content-Type": "application/json",
        "MCP-Session-Id": "s1",
    ]

    static func post(_ json: String) -> MCP.HTTPRequest {
        MCP.HTTPRequest(method: "POST", headers: headers, body: Data(json.utf8))
    }

    /// A transport with a started MCP server whose `slow` tool reports progress once, then answers.
    static func started() async throws -> (MCPSessionTransport, Server) {
        let transport = MCPSessionTransport(sessionID: "s1", logger: .init(label: "test.mcp"))
        let server = Server(name: "t", version: "1", capabilities: .init(tools: .init(listChanged: false)))
        await server.withMethodHandler(CallTool.self) { [weak server] params in
            if let token = params._meta?.progressToken, let server {
                try await server.notify(
                    ProgressNotification.message(.init(progressToken: token, progress: 1, total: nil, message: "half")))
            }
            return .init(content: [.text(text: "did \(params.name)", annotations: nil, _meta: nil)], isError: false)
        }
        try await server.start(transport: transport)
        let initialize = await transport.handleRequest(
            post(
                #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","#
                    + #""capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#))
        #expect(initialize.statusCode == 200)
        #expect(initialize.headers["Content-Type"] == "application/json")
        #expect(String(decoding: initialize.bodyData ?? Data(), as: UTF8.self).contains("\"serverInfo\""))
        return (transport, server)
    }

    static func collect(_ response: MCP.HTTPResponse) async throws -> String {
        guard case .stream(let events, _) = response else { return "not a stream: \(response.statusCode)" }
        var text = ""
        for try await chunk in events { text += String(decoding: chunk, as: UTF8.self) }
        return text
    }

    /// A `tools/call` of `slow` with id 7 and no progress, answered in one JSON body on session s1; that body.
    static func callSlowForOneJSONBody(_ transport: MCPSessionTransport) async -> String {
        let answer = await transport.handleRequest(
            post(#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"slow","arguments":{}}}"#))
        #expect(answer.statusCode == 200)
        #expect(answer.headers["Content-Type"] == "application/json")
        #expect(answer.headers["MCP-Session-Id"] == "s1")
        return String(decoding: answer.bodyData ?? Data(), as: UTF8.self)
    }

    @Test func aToolCallIsAnsweredWithOneJSONBody() async throws {
        let (transport, server) = try await Self.started()
        let body = await Self.callSlowForOneJSONBody(transport)
        #expect(body.contains("did slow") && body.contains("\"id\":7"), "\(body)")
        await server.stop()
    }

    @Test func aToolCallWithoutProgressIsAnsweredByTheDoorsToolsDirectly() async throws {
        let (transport, server) = try await Self.started()
        await transport.answerToolCalls { params in
            .init(content: [.text(text: "directly \(params.name)", annotations: nil, _meta: nil)], isError: false)
        }
        let body = await Self.callSlowForOneJSONBody(transport)
        #expect(body.contains("directly slow") && body.contains("\"id\":7"), "\(body)")
        #expect(body.contains("\"jsonrpc\":\"2.0\""), "\(body)")
        // A call that asks for progress still goes through the SDK's server, which sends it.
        let streamed = await transport.handleRequest(
            Self.post(
                #"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"slow","arguments":{},"#
                    + #""_meta":{"progressToken":"p1"}}}"#))
        let text = try await Self.collect(streamed)
        #expect(text.contains("notifications/progress") && text.contains("did slow"), "\(text)")
        await server.stop()
    }

    /// The door reads a tool call's id and arguments from its own parse of the body: exactly what swift-sdk's
    /// decoder reads, for every JSON type an argument can have, and nothing for an id it leaves to the SDK.
    @Test(arguments: [
        #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"exec","arguments":{"session":"s-1","#
            + #""command":"true","timeout_seconds":30}}}"#,
        #"{"jsonrpc":"2.0","id":"a7","method":"tools/call","params":{"name":"x","arguments":{"t":true,"f":false,"#
            + #""zero":0,"one":1,"big":9007199254740993,"neg":-7,"half":0.5,"exp":1e3,"whole":2.0,"null":null,"#
            + #""list":[1,"two",[false],{"k":2.25}],"nested":{"s":"\u00e9\n","e":{}},"empty":[]}}}"#,
        #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_sessions"}}"#,
        #"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"n","arguments":null}}"#,
    ])
    func aToolCallIsReadAsTheSDKReadsIt(_ json: String) throws {
        let sdk = try JSONDecoder().decode(Request<CallTool>.self, from: Data(json.utf8))
        let door = try #require(MCPSessionTransport.Envelope(Data(json.utf8))?.toolCall)
        #expect(door.id == sdk.id)
        #expect(door.params.name == sdk.params.name)
        #expect(door.params.arguments == sdk.params.arguments)
    }

    @Test(arguments: [
        #"{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"x","arguments":{}}}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":[1]}}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"name":"x","arguments":{}}}"#,
    ])
    func aToolCallTheDoorDoesNotReadIsLeftToTheSDK(_ json: String) throws {
        #expect(MCPSessionTransport.Envelope(Data(json.utf8))?.toolCall == nil)
    }

    @Test func aCancelledToolCallAnsweredDirectlyIsCancelled() async throws {
        let (transport, server) = try await Self.started()
        let (started, running) = AsyncStream.makeStream(of: Void.self)
        await transport.answerToolCalls { _ in
            running.yield()
            // Waits for its cancellation: iterating a stream that never ends stops when the task is cancelled.
            let (never, open) = AsyncStream.makeStream(of: Void.self)
            for await _ in never {}
            withExtendedLifetime(open) {}
            let text = Task.isCancelled ? "cancelled" : "not cancelled"
            return .init(content: [.text(text: text, annotations: nil, _meta: nil)], isError: true)
        }
        let call = Task {
            await transport.handleRequest(
                Self.post(#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"long","arguments":{}}}"#))
        }
        for await _ in started { break }
        let cancel = await transport.handleRequest(
            Self.post(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}}"#))
        #expect(cancel.statusCode == 202)
        let answer = await call.value
        let body = String(decoding: answer.bodyData ?? Data(), as: UTF8.self)
        #expect(body.contains("\"cancelled\"") && body.contains("\"id\":9"), "\(body)")
        await server.stop()
    }

    @Test func progressStreamsBeforeTheAnswerOnTheRequestsOwnStream() async throws {
        let (transport, server) = try await Self.started()
        let answer = await transport.handleRequest(
            Self.post(
                #"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"slow","arguments":{},"#
                    + #""_meta":{"progressToken":"p1"}}}"#))
        #expect(answer.headers["Content-Type"] == "text/event-stream")
        let text = try await Self.collect(answer)
        let progress = try #require(text.range(of: "notifications/progress"), "\(text)")
        let result = try #require(text.range(of: "did slow"), "\(text)")
        #expect(progress.lowerBound < result.lowerBound)
        #expect(text.hasPrefix("event: message\ndata: "), "\(text)")
        await server.stop()
    }

    @Test func theGETStreamTakesServerMessagesAndEndsWithTheSession() async throws {
        let (transport, server) = try await Self.started()
        var get = Self.headers
        get["Content-Type"] = nil
        let stream = await transport.handleRequest(MCP.HTTPRequest(method: "GET", headers: get))
        #expect(stream.headers["Content-Type"] == "text/event-stream")
        let second = await transport.handleRequest(MCP.HTTPRequest(method: "GET", headers: get))
        #expect(second.statusCode == 409)
        try await server.notify(ResourceListChangedNotification.message())
        let deleted = await transport.handleRequest(MCP.HTTPRequest(method: "DELETE", headers: get))
        #expect(deleted.statusCode == 200)
        let text = try await Self.collect(stream)
        #expect(text.contains("notifications/resources/list_changed"), "\(text)")
        let after = await transport.handleRequest(
            Self.post(#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"slow"}}"#))
        #expect(after.statusCode == 404)
        await server.stop()
    }

    @Test func requestsThatBreakTheProtocolAreRefused() async throws {
        let (transport, server) = try await Self.started()
        let again = await transport.handleRequest(
            Self.post(#"{"jsonrpc":"2.0","id":9,"method":"initialize","params":{}}"#))
        #expect(again.statusCode == 400)
        let garbage = await transport.handleRequest(Self.post("not json"))
        #expect(garbage.statusCode == 400)
        var jsonOnly = Self.headers
        jsonOnly["Accept"] = "text/html"
        let unacceptable = await transport.handleRequest(
            MCP.HTTPRequest(
                method: "POST", headers: jsonOnly, body: Data(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#.utf8)))
        #expect(unacceptable.statusCode == 406)
        let notification = await transport.handleRequest(
            Self.post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#))
        #expect(notification.statusCode == 202)
        await server.stop()
    }

    @Test(arguments: [
        ("true", ["true"]), ("ls -la /workspace", ["ls", "-la", "/workspace"]),
        ("git  commit -m fix", ["git", "commit", "-m", "fix"]), ("python3 -c x=1", ["python3", "-c", "x=1"]),
    ])
    func plainCommandLinesRunWithoutAShell(_ line: String, _ argv: [String]) {
        #expect(MCPTools.plainArgv(line) == argv)
    }

    @Test(arguments: [
        "echo out; echo err >&2", "cd /tmp", "ls *.py", "echo $HOME", "A=1 env", "./run.sh", "cat 'a b'", "ls ~",
        "true && false", "ls | wc -l", "exit 3", "", "pwd", "ls # comment", "export X=1", "sleep 1 &",
    ])
    func otherLinesGoToTheShell(_ line: String) {
        #expect(MCPTools.plainArgv(line) == nil)
    }

    /// The token hash every request computes is the SHA-256 in lowercase hex, as the stored hashes are.
    @Test func theTokenHashIsTheSHA256InLowercaseHex() {
        #expect(
            TokenService.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
