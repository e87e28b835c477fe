import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MCP
import NIOCore
import PaddockCore
import PaddockServices
import ServiceLifecycle
import Synchronization

/// `/mcp`: Paddock as an MCP server over streamable HTTP (modelcontextprotocol/swift-sdk's stateful transport).
/// The door only translates: every request is authenticated by the token middleware like `/v1`, an MCP session
/// belongs to the token that initialized it (requests with another token are refused), and every tool goes
/// through the services as that token's caller at the time of the call — a role or team changed while an IDE
/// keeps its MCP session open holds on its next call — so authorization and auditing are theirs.
/// Closing an MCP session (or the client going away) ends nothing in Paddock: sandboxes live by their TTL.
actor MCPDoor {
    struct Connection {
        let server: Server
        let transport: MCPSessionTransport
        let caller: MCPSessionCaller
        var lastUsed: ContinuousClock.Instant
    }

    let tools: MCPTools
    let logger: Logger
    private var connections: [String: Connection] = [:]
    /// An MCP session unused this long is closed (its client reconnects with a new `initialize`).
    static let idleLimit: Duration = .seconds(3600)
    /// The largest JSON-RPC message accepted.
    static let maxBody = 16 << 20

    init(tools: MCPTools, logger: Logger) {
        self.tools = tools
        self.logger = logger
    }

    /// The route's handler: the request as the MCP transport sees it, and its answer back.
    nonisolated func handle(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let body = try await request.body.collect(upTo: Self.maxBody)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let message = MCP.HTTPRequest(
            method: request.method.rawValue, headers: headers,
            body: body.readableBytes > 0 ? Data(buffer: body) : nil, path: request.uri.path)
        // A request may wait minutes for its answer (a long exec): the server's graceful shutdown ends every MCP
        // session, which answers it at once, instead of waiting for it. Open streams are ended by
        // `StreamsEndOnShutdown`, like every other stream of the server.
        let answer = await withGracefulShutdownHandler {
            await route(message, principal: principal)
        } onGracefulShutdown: { [self] in
            Task { await self.closeAll() }
        }
        return Self.response(answer)
    }

    /// The request's answer. Only finding its MCP session holds the door: the transport's answer (which waits for
    /// the tool) comes straight back to the request's task instead of through the door's actor.
    nonisolated func route(_ request: MCP.HTTPRequest, principal: Principal) async -> MCP.HTTPResponse {
        switch await find(request, principal: principal) {
        case .session(let id, let transport):
            let response = await transport.handleRequest(request)
            if request.method.uppercased() == "DELETE", response.statusCode == 200 { await close(id) }
            return response
        case .initialize: return await open(request, principal: principal)
        case .answer(let response): return response
        }
    }

    enum Found {
        case session(String, MCPSessionTransport)
        case initialize
        case answer(MCP.HTTPResponse)
    }

    private func find(_ request: MCP.HTTPRequest, principal: Principal) async -> Found {
        await closeIdle()
        if let id = request.header(HTTPHeaderName.sessionID), var connection = connections[id] {
            guard connection.caller.principal.tokenID == principal.tokenID else {
                return .answer(
                    .error(
                        statusCode: 403,
                        .invalidRequest("this MCP session was started with another token; initialize your own")))
            }
            // The same token, as the store knows it now: the session's tools act with today's role and teams.
            connection.caller.update(principal)
            connection.lastUsed = .now
            connections[id] = connection
            return .session(id, connection.transport)
        }
        if request.method.uppercased() == "POST", Self.isInitialize(request.body) { return .initialize }
        if request.header(HTTPHeaderName.sessionID) != nil {
            return .answer(
                .error(statusCode: 404, .invalidRequest("no such MCP session (it ended or expired); initialize again")))
        }
        return .answer(
            .error(
                statusCode: 400,
                .invalidRequest("send `initialize` first, then the \(HTTPHeaderName.sessionID) it returns")))
    }

    private func open(_ request: MCP.HTTPRequest, principal: Principal) async -> MCP.HTTPResponse {
        let id = UUID().uuidString
        let transport = MCPSessionTransport(sessionID: id, logger: logger)
        do {
            let caller = MCPSessionCaller(principal)
            let server = try await tools.server(for: caller)
            try await server.start(transport: transport)
            await transport.answerToolCalls { [tools] params in await tools.answer(params, as: caller, server: nil) }
            connections[id] = Connection(server: server, transport: transport, caller: caller, lastUsed: .now)
            let response = await transport.handleRequest(request)
            if case .error = response { await close(id) }
            logger.info("MCP session opened", metadata: ["mcp.session": "\(id)", "user": "\(principal.user)"])
            return response
        } catch {
            await transport.disconnect()
            logger.error("could not open an MCP session", metadata: ["error": "\(error)"])
            return .error(statusCode: 500, .internalError("the MCP session could not start: \(error)"))
        }
    }

    private func close(_ id: String) async {
        guard let connection = connections.removeValue(forKey: id) else { return }
        await connection.transport.disconnect()
        await connection.server.stop()
    }

    private func closeIdle() async {
        let now = ContinuousClock.now
        for (id, connection) in connections where now - connection.lastUsed > Self.idleLimit { await close(id) }
    }

    /// Closes every MCP session (the server is stopping).
    func closeAll() async {
        for id in connections.keys { await close(id) }
    }

    static func isInitialize(_ body: Data?) -> Bool {
        guard let body else { return false }
        do {
            let object = try JSONSerialization.jsonObject(with: body) as? [String: Any]
            return object?["method"] as? String == "initialize"
        } catch {
            return false  // not JSON at all: the transport answers what is wrong with it
        }
    }

    /// The transport's answer as a Hummingbird response.
    static func response(_ response: MCP.HTTPResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        let status = HTTPTypes.HTTPResponse.Status(code: response.statusCode)
        switch response {
        case .stream(let events, _):
            // Without a length, so `StreamsEndOnShutdown` ends it when the server stops: a GET stream ends only
            // with its MCP session, and outlives a client that left (nothing is written to notice it).
            return Response(
                status: status, headers: fields,
                body: ResponseBody { writer in
                    for try await chunk in events { try await writer.write(ByteBuffer(bytes: chunk)) }
                    try await writer.finish(nil)
                })
        default:
            let body = response.bodyData.map { ResponseBody(byteBuffer: ByteBuffer(bytes: $0)) } ?? ResponseBody()
            return Response(status: status, headers: fields, body: body)
        }
    }
}

/// Who an MCP session's tools act as: the principal of its token's latest request, kept current by the door.
final class MCPSessionCaller: Sendable {
    private let current: Mutex<Principal>

    init(_ principal: Principal) { current = Mutex(principal) }

    var principal: Principal { current.withLock { $0 } }

    func update(_ principal: Principal) { current.withLock { $0 = principal } }
}
