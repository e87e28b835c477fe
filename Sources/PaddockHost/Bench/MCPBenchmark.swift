import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import PaddockCore
import PaddockLinux
import PaddockServer
import PaddockServices
import PaddockStore

/// `paddock.mcp_exec`: an MCP `exec` tool call running `true` in an existing session, through a real server's
/// `/mcp` on loopback (token auth, one MCP session kept open as a client would, the services' authorization
/// and audit), measured beside `paddock.exec` (`true` through the sandbox's supervisor, no door) on the same
/// sandbox, interleaved so both see the same machine.
struct MCPBenchmark {
    let iterations: Int
    let provider: LocalProvider
    let directory: String

    func run() async throws -> [Benchmarks.Result] {
        let dir = directory + "/mcp-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer {
            do { try FileManager.default.removeItem(atPath: dir) } catch {
                FileHandle.standardError.write(Data("paddock bench: could not remove \(dir): \(error)\n".utf8))
            }
        }
        var logger = Logger(label: "paddock.bench.mcp")
        logger.logLevel = .error
        let store = try SQLiteStore(path: dir + "/paddock.sqlite", logger: logger)
        let sessions = SessionService(store: store, providers: ["local": provider], logger: logger)
        let tokens = TokenService(store: store)
        let token = try await tokens.issue(name: "bench")

        let (port, server) = await TriggerBenchmark.serve(sessions, store, ServerConfiguration(port: 0), logger)
        defer { server.cancel() }
        guard port > 0 else { throw PaddockError.internal("the MCP benchmark's server did not start") }
        // The target line's client blocks on its own socket on a thread of its own, as a client in another process
        // would, and times each round trip there. The same calls go through AsyncHTTPClient too, which this line
        // measured until 2026-12-07: in this process it shares its event loops and threads with the server.
        let socket = try SocketHTTPClient(port: port, label: "mcp-client")
        var mcp = MCPClient.socket(socket, token: token)
        try await mcp.initialize()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { client.shutdown { _ in } }
        var library = MCPClient.asyncHTTPClient(client, url: "http://127.0.0.1:\(port)/mcp", token: token)
        try await library.initialize()
        let created = try await mcp.call("create_session", ["ttl_seconds": 600])
        guard let id = created.split(separator: " ").first.flatMap({ SessionID(rawValue: String($0)) }) else {
            throw PaddockError.internal("create_session answered '\(created)' in the MCP benchmark")
        }
        guard let principal = try await tokens.authenticate(token) else {
            throw PaddockError.internal("the MCP benchmark's token does not authenticate")
        }
        let caller = Caller(principal)
        var direct: [Double] = []
        var viaMCP: [Double] = []
        var viaLibrary: [Double] = []
        // The breakdown of the difference: the door's round trip alone (a JSON-RPC ping over the same MCP
        // session: HTTP, token, transport) and the same command through the service (authorization, the session
        // read, audit) without the door.
        var ping: [Double] = []
        var service: [Double] = []
        // And of the service's share, the session read it starts with (store, decoding, authorization).
        var read: [Double] = []
        // And of the door's share, the token check every request pays (hash, store read).
        var authenticate: [Double] = []
        // And the floor any door has over `paddock.exec`, from what the contract asks of every exec: one HTTP
        // round trip (through the API listener, on a route with no work behind it; and, the least, to a bare
        // server) and the exec's audit record, on disk before its exit is reported.
        var roundTrip: [Double] = []
        // The least an HTTP round trip costs with this server library: a bare Hummingbird server, one route, no
        // middleware, answering the same small body; with each client.
        let bareRouter = Router()
        bareRouter.get("/") { _, _ in "{}" }
        let (barePort, bareServer) = try await LoopbackServer.start(router: bareRouter, label: "bench-bare-http")
        defer { bareServer.cancel() }
        let bare = try SocketHTTPClient(port: barePort, label: "bare-http-client")
        let bareURL = "http://127.0.0.1:\(barePort)/"
        var bareRoundTrip: [Double] = []
        var bareRoundTripLibrary: [Double] = []
        var auditAppend: [Double] = []
        guard let audit = sessions.auditRecorder else {
            throw PaddockError.internal("the MCP benchmark's server keeps no audit trail")
        }
        let exec: [String: Any] = ["session": id.rawValue, "command": "true"]
        func ran(_ answer: String) throws {
            guard answer.hasPrefix("exit code 0") else {
                throw PaddockError.internal("exec answered '\(answer.prefix(200))' in the MCP benchmark")
            }
        }
        // One warm-up of each: the first exec pays for page-cache misses.
        try await Benchmarks.runTrue(provider, id)
        try ran(try await mcp.call("exec", exec))
        try ran(try await library.call("exec", exec))
        for _ in 0..<(iterations * 3) {
            direct.append(try await Benchmarks.milliseconds { try await Benchmarks.runTrue(provider, id) })
            try await mcp.ping()
            ping.append(try Self.measured(mcp))
            authenticate.append(try await Benchmarks.milliseconds { _ = try await tokens.authenticate(token) })
            read.append(
                try await Benchmarks.milliseconds { _ = try await sessions.get(id, for: caller, needs: .write) })
            service.append(
                try await Benchmarks.milliseconds {
                    // As the exec tool runs a plain command line: its words, without a shell.
                    let handle = try await sessions.exec(id, SessionCommand(["true"]), by: caller)
                    for try await _ in handle.events {}
                })
            bareRoundTrip.append(try await bare.request("GET", "/").milliseconds)
            bareRoundTripLibrary.append(
                try await Benchmarks.milliseconds { _ = try await Benchmarks.get(client, bareURL, headers: []) })
            roundTrip.append(try await socket.request("GET", "/.well-known/oauth-protected-resource").milliseconds)
            auditAppend.append(
                try await Benchmarks.milliseconds {
                    try await audit.record(
                        session: id, kind: "exec", actor: caller.actor,
                        fields: ["argv": .strings(["true"]), "cwd": "/workspace", "user": "user", "exit": .int(0)])
                })
            try ran(try await mcp.call("exec", exec))
            viaMCP.append(try Self.measured(mcp))
            viaLibrary.append(try await Benchmarks.milliseconds { try ran(try await library.call("exec", exec)) })
        }
        _ = try await mcp.call("destroy_session", ["session": id.rawValue])
        return [
            Benchmarks.summarize(
                "paddock.exec", unit: "ms", direct, note: "true through the supervisor, beside paddock.mcp_exec"),
            Benchmarks.summarize(
                "paddock.mcp_ping", unit: "ms", ping,
                note: "JSON-RPC ping over the same MCP session, socket client: the door's own round trip"),
            Benchmarks.summarize(
                "paddock.mcp_token_check", unit: "ms", authenticate,
                note: "the bearer token's check each /mcp request starts with, part of paddock.mcp_ping"),
            Benchmarks.summarize(
                "paddock.service_session_read", unit: "ms", read,
                note: "the session read and authorization service_exec starts with"),
            Benchmarks.summarize(
                "paddock.service_exec", unit: "ms", service,
                note: "true through the session service as the token's owner (authorization, audit), no door"),
            Benchmarks.summarize(
                "paddock.api_round_trip", unit: "ms", roundTrip,
                note: "GET of the MCP metadata, same listener and socket client: one round trip, no work behind"),
            Benchmarks.summarize(
                "limit.http_round_trip", unit: "ms", bareRoundTrip,
                note: "the same GET to a bare Hummingbird server: one route, no middleware"),
            Benchmarks.summarize(
                "limit.http_round_trip.async_http_client", unit: "ms", bareRoundTripLibrary,
                note: "the same bare GET through AsyncHTTPClient in this process: the client library's share"),
            Benchmarks.summarize(
                "paddock.audit_append.exec", unit: "ms", auditAppend,
                note: "an exec's audit record appended on disk, as each exec's exit waits for"),
            Benchmarks.summarize(
                "limit.mcp_exec", unit: "ms", zip(direct, zip(bareRoundTrip, auditAppend)).map { $0 + $1.0 + $1.1 },
                note: "paddock.exec + limit.http_round_trip + audit_append.exec, per round: the floor of any door"),
            Benchmarks.summarize(
                "paddock.mcp_exec", unit: "ms", viaMCP,
                note: "MCP exec tool call (true), socket client, one MCP session; target p50 ≤ 1.5× paddock.exec"),
            Benchmarks.summarize(
                "paddock.mcp_exec.async_http_client", unit: "ms", viaLibrary,
                note: "the same call through AsyncHTTPClient in this process, its own MCP session"),
        ]
    }

    /// The round trip of the MCP client's last request, as its socket client timed it.
    private static func measured(_ client: MCPClient) throws -> Double {
        guard let milliseconds = client.lastRoundTrip else {
            throw PaddockError.internal("the MCP benchmark's socket client did not time its request")
        }
        return milliseconds
    }
}

/// The least of an MCP client over streamable HTTP: `initialize` once, then `tools/call` on the same MCP
/// session, answers read as JSON or as server-sent events, over either HTTP client of the benchmark.
struct MCPClient {
    /// One POST to `/mcp`, and what came back.
    typealias Post = @Sendable (_ headers: [(String, String)], _ body: [UInt8]) async throws -> Exchange
    struct Exchange {
        var status: Int
        var session: String?
        var body: [UInt8]
        /// The round trip as the client's transport measured it, when it does.
        var milliseconds: Double?
    }

    let post: Post
    let token: String
    private(set) var session: String?
    /// The last request's round trip, from a transport that measures it (`socket`).
    private(set) var lastRoundTrip: Double?
    private var nextID = 1

    /// Through AsyncHTTPClient in this process.
    static func asyncHTTPClient(_ http: HTTPClient, url: String, token: String) -> MCPClient {
        MCPClient(token: token) { headers, body in
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await http.execute(request, timeout: .seconds(120))
            var answer: [UInt8] = []
            for try await chunk in response.body { answer += chunk.readableBytesView }
            return Exchange(
                status: Int(response.status.code), session: response.headers.first(name: "Mcp-Session-Id"),
                body: answer)
        }
    }

    /// Through a socket client blocking on a thread of its own, which times each round trip.
    static func socket(_ client: SocketHTTPClient, token: String) -> MCPClient {
        MCPClient(token: token) { headers, body in
            let answer = try await client.request("POST", "/mcp", headers: headers, body: body)
            return Exchange(
                status: answer.status, session: answer.headers["mcp-session-id"], body: answer.body,
                milliseconds: answer.milliseconds)
        }
    }

    private init(token: String, post: @escaping Post) {
        self.token = token
        self.post = post
    }

    mutating func initialize() async throws {
        _ = try await send(
            "initialize",
            [
                "protocolVersion": "2025-06-18", "capabilities": [String: Any](),
                "clientInfo": ["name": "paddock-bench", "version": "1"],
            ])
        try await notify("notifications/initialized")
    }

    /// A tool's text answer; a tool error is thrown with its text.
    mutating func call(_ tool: String, _ arguments: [String: Any]) async throws -> String {
        let result = try await send("tools/call", ["name": tool, "arguments": arguments])
        let text = (result["content"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
            .joined(separator: "\n")
        if result["isError"] as? Bool == true { throw PaddockError.internal("MCP tool \(tool) failed: \(text)") }
        return text
    }

    private mutating func send(_ method: String, _ params: [String: Any]) async throws -> [String: Any] {
        let id = nextID
        nextID += 1
        let body = try await exchange(["jsonrpc": "2.0", "id": id, "method": method, "params": params])
        for message in Self.messages(body) where (message["id"] as? NSNumber)?.intValue == id {
            if let error = message["error"] as? [String: Any] {
                throw PaddockError.internal("MCP \(method) failed: \(error["message"] ?? error)")
            }
            return message["result"] as? [String: Any] ?? [:]
        }
        throw PaddockError.internal("MCP \(method) got no answer: \(String(decoding: body.prefix(300), as: UTF8.self))")
    }

    /// A JSON-RPC `ping`, answered by the MCP server itself.
    mutating func ping() async throws {
        _ = try await send("ping", [:])
    }

    private mutating func notify(_ method: String) async throws {
        _ = try await exchange(["jsonrpc": "2.0", "method": method])
    }

    private mutating func exchange(_ message: [String: Any]) async throws -> [UInt8] {
        var headers = [
            ("Authorization", "Bearer \(token)"), ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"), ("MCP-Protocol-Version", "2025-06-18"),
        ]
        if let session { headers.append(("Mcp-Session-Id", session)) }
        let answer = try await post(headers, Array(try JSONSerialization.data(withJSONObject: message)))
        guard (200..<300).contains(answer.status) else {
            throw PaddockError.internal(
                "/mcp answered \(answer.status): \(String(decoding: answer.body.prefix(300), as: UTF8.self))")
        }
        if session == nil { session = answer.session }
        lastRoundTrip = answer.milliseconds
        return answer.body
    }

    /// JSON-RPC messages of an answer: one JSON body, or the `data:` lines of server-sent events.
    static func messages(_ body: [UInt8]) -> [[String: Any]] {
        func object(_ bytes: some Collection<UInt8>) -> [String: Any]? {
            do { return try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] } catch { return nil }
        }
        if let single = object(body) { return [single] }
        return String(decoding: body, as: UTF8.self).split(separator: "\n").compactMap { line in
            line.hasPrefix("data:") ? object(Array(line.dropFirst(5).utf8)) : nil
        }
    }
}
