import Foundation
import Logging
import MCP

/// One MCP session's streamable HTTP transport. A request is answered with one JSON body (`application/json`,
/// which every client must accept) unless it asked for progress, whose notifications then stream before the
/// answer on its own server-sent-events response; everything else the server sends goes to the client's GET
/// stream. swift-sdk's stateful transport answers every request as an event stream (a priming event, then the
/// answer, chunked) and keeps every message it ever sent for replay until the session ends: a tool call paid
/// for both, and a long session's memory grew with its traffic. Nothing is replayed here: a client that lost a
/// response asks again.
actor MCPSessionTransport: Transport {
    nonisolated let logger: Logger
    /// Chosen by the door before the transport exists, so it can file the session under it.
    let sessionID: String
    private var initialized = false
    private var terminated = false
    private let incoming: AsyncThrowingStream<Data, any Error>
    private let incomingContinuation: AsyncThrowingStream<Data, any Error>.Continuation
    /// Requests answered with one JSON body: what waits for the answer (nil when the session ended first).
    private var waiting: [String: CheckedContinuation<Data?, Never>] = [:]
    /// Requests answered as an event stream (they asked for progress), by request id.
    private var streaming: [String: AsyncThrowingStream<Data, any Error>.Continuation] = [:]
    /// The request each progress token belongs to, so its notifications go on that request's stream.
    private var progressOwners: [String: String] = [:]
    /// The client's GET stream, for what the server sends outside any request.
    private var standalone: AsyncThrowingStream<Data, any Error>.Continuation?
    /// Counts GET streams, so the end of one the client left cannot clear the one it opened next.
    private var standaloneNumber = 0
    /// Answers tool calls without going through swift-sdk's `Server` (`answerDirectly`), once the door set it.
    private var toolCalls: (@Sendable (CallTool.Parameters) async -> CallTool.Result)?
    /// The tool calls answered here that are running, by request id, for `notifications/cancelled`.
    private var directCalls: [String: Task<Void, Never>] = [:]

    private static let validation = StandardValidationPipeline(validators: [
        OriginValidator.localhost(), AcceptHeaderValidator(mode: .sseRequired), ContentTypeValidator(),
        ProtocolVersionValidator(), SessionValidator(),
    ])
    private static let eventStreamHeaders = [
        HTTPHeaderName.contentType: "text/event-stream", HTTPHeaderName.cacheControl: "no-cache, no-transform",
    ]

    init(sessionID: String, logger: Logger) {
        self.sessionID = sessionID
        self.logger = logger
        (incoming, incomingContinuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {}

    func disconnect() async { terminate() }

    func receive() -> AsyncThrowingStream<Data, any Error> { incoming }

    /// From now on, a `tools/call` that asks for no progress is answered by `handler` here (`answerDirectly`).
    func answerToolCalls(with handler: @escaping @Sendable (CallTool.Parameters) async -> CallTool.Result) {
        toolCalls = handler
    }

    /// Routes what the server sends: an answer to the request that waits for it, a request's progress to that
    /// request's stream, anything else to the GET stream (dropped when the client keeps none open).
    func send(_ data: Data) async throws {
        guard !terminated else { throw MCPError.connectionClosed }
        guard let message = Envelope(data) else {
            logger.warning("the MCP server sent something that is not a JSON-RPC message; dropped")
            return
        }
        if let id = message.id, message.method == nil {
            if let waiter = waiting.removeValue(forKey: id) {
                waiter.resume(returning: data)
            } else if let stream = streaming.removeValue(forKey: id) {
                stream.yield(Self.event(data))
                stream.finish()
                progressOwners = progressOwners.filter { $0.value != id }
            } else {
                logger.debug("an MCP answer whose request is gone; dropped", metadata: ["mcp.request": "\(id)"])
            }
            return
        }
        if let token = message.progressToken, let owner = progressOwners[token], let stream = streaming[owner] {
            stream.yield(Self.event(data))
        } else if let standalone {
            standalone.yield(Self.event(data))
        } else {
            logger.debug(
                "no GET stream for a server message; dropped", metadata: ["mcp.method": "\(message.method ?? "-")"])
        }
    }

    /// One HTTP request of this session, and its answer.
    func handleRequest(_ request: HTTPRequest) async -> HTTPResponse {
        guard !terminated else {
            return .error(statusCode: 404, .invalidRequest("this MCP session has ended; initialize again"))
        }
        switch request.method.uppercased() {
        case "POST": return await post(request)
        case "GET": return get(request)
        case "DELETE":
            if let refused = validate(request, initialize: false) { return refused }
            terminate()
            return .ok(headers: [HTTPHeaderName.sessionID: sessionID])
        default:
            return .error(
                statusCode: 405, .invalidRequest("/mcp takes POST, GET and DELETE"), sessionID: sessionID,
                extraHeaders: [HTTPHeaderName.allow: "GET, POST, DELETE"])
        }
    }

    private func post(_ request: HTTPRequest) async -> HTTPResponse {
        guard let body = request.body, let message = Envelope(body) else {
            return .error(statusCode: 400, .parseError("the body is not one JSON-RPC message"), sessionID: sessionID)
        }
        let initialize = message.method == "initialize"
        if let refused = validate(request, initialize: initialize) { return refused }
        if initialize {
            guard !initialized else {
                return .error(
                    statusCode: 400, .invalidRequest("this MCP session is initialized already"), sessionID: sessionID)
            }
            initialized = true
        }
        let headers = [HTTPHeaderName.sessionID: sessionID]
        guard let id = message.id, message.method != nil else {
            // A notification, or the client's answer to a server request: nothing to answer but receipt.
            if let cancelled = message.cancelledRequest { directCalls[cancelled]?.cancel() }
            incomingContinuation.yield(body)
            return .accepted(headers: headers)
        }
        guard waiting[id] == nil, streaming[id] == nil else {
            return .error(
                statusCode: 400, .invalidRequest("request id \(id) is already in flight; use a new id"),
                sessionID: sessionID)
        }
        if message.method == CallTool.name, message.progressToken == nil, let toolCalls,
            let call = message.toolCall ?? Self.toolCall(body).map({ ($0.id, $0.params) })
        {
            return await answerDirectly(call, id: id, headers: headers, toolCalls)
        }
        if let token = message.progressToken {
            let (stream, continuation) = AsyncThrowingStream<Data, any Error>.makeStream()
            streaming[id] = continuation
            progressOwners[token] = id
            incomingContinuation.yield(body)
            return .stream(stream, headers: headers.merging(Self.eventStreamHeaders) { $1 })
        }
        let answer = await withCheckedContinuation { continuation in
            waiting[id] = continuation
            incomingContinuation.yield(body)
        }
        guard let answer else {
            return .error(statusCode: 404, .invalidRequest("the MCP session ended before answering"))
        }
        return .data(answer, headers: headers.merging([HTTPHeaderName.contentType: "application/json"]) { $1 })
    }

    /// A tool call that asked for no progress, answered here instead of by swift-sdk's `Server`, which decodes a
    /// message up to three times to learn its kind and then encodes and decodes its parameters and its result once
    /// more each: a good part of a short `exec`'s time at the door. The same tools answer it as the same caller,
    /// and a `notifications/cancelled` naming it cancels it, as the SDK's would be.
    private func answerDirectly(
        _ call: (id: ID, params: CallTool.Parameters), id: String, headers: [String: String],
        _ toolCalls: @escaping @Sendable (CallTool.Parameters) async -> CallTool.Result
    ) async -> HTTPResponse {
        let answer = await withCheckedContinuation { continuation in
            waiting[id] = continuation
            directCalls[id] = Task {
                let result = await toolCalls(call.params)
                answered(id, encoded(Response<CallTool>(id: call.id, result: result)))
            }
        }
        guard let answer else {
            return .error(statusCode: 404, .invalidRequest("the MCP session ended before answering"))
        }
        return .data(answer, headers: headers.merging([HTTPHeaderName.contentType: "application/json"]) { $1 })
    }

    private func answered(_ id: String, _ answer: Data?) {
        directCalls[id] = nil
        waiting.removeValue(forKey: id)?.resume(returning: answer)
    }

    /// The answer as the SDK would encode it; an answer that cannot be encoded is an error the client is told of.
    private func encoded(_ response: Response<CallTool>) -> Data? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return try encoder.encode(response) } catch {
            logger.error("an MCP tool's answer could not be encoded", metadata: ["error": "\(error)"])
            do {
                return try encoder.encode(
                    Response<CallTool>(id: response.id, error: .internalError("the tool's answer could not be encoded"))
                )
            } catch {
                logger.error("an MCP error answer could not be encoded", metadata: ["error": "\(error)"])
                return nil
            }
        }
    }

    /// A `tools/call` request, or nil when it is not a well-formed one (the SDK then answers what is wrong).
    static func toolCall(_ body: Data) -> Request<CallTool>? {
        do { return try JSONDecoder().decode(Request<CallTool>.self, from: body) } catch { return nil }
    }

    private func get(_ request: HTTPRequest) -> HTTPResponse {
        if let refused = validate(request, initialize: false) { return refused }
        guard standalone == nil else {
            return .error(
                statusCode: 409, .invalidRequest("this MCP session has a GET stream open already"),
                sessionID: sessionID)
        }
        let (stream, continuation) = AsyncThrowingStream<Data, any Error>.makeStream()
        standaloneNumber += 1
        let number = standaloneNumber
        continuation.onTermination = { [weak self] _ in
            // The client left (or the server ended it): it may open another one.
            Task { await self?.standaloneEnded(number) }
        }
        standalone = continuation
        return .stream(stream, headers: Self.eventStreamHeaders.merging([HTTPHeaderName.sessionID: sessionID]) { $1 })
    }

    private func standaloneEnded(_ number: Int) {
        if number == standaloneNumber { standalone = nil }
    }

    private func validate(_ request: HTTPRequest, initialize: Bool) -> HTTPResponse? {
        Self.validation.validate(
            request,
            context: HTTPValidationContext(
                httpMethod: request.method.uppercased(), sessionID: initialized ? sessionID : nil,
                isInitializationRequest: initialize, supportedProtocolVersions: Version.supported))
    }

    /// Ends every stream and wakes every waiting request: the session is over.
    private func terminate() {
        guard !terminated else { return }
        terminated = true
        for waiter in waiting.values { waiter.resume(returning: nil) }
        waiting.removeAll()
        for stream in streaming.values { stream.finish() }
        streaming.removeAll()
        progressOwners.removeAll()
        standalone?.finish()
        standalone = nil
        incomingContinuation.finish()
    }

    static func event(_ message: Data) -> Data {
        var event = Data("event: message\ndata: ".utf8)
        event.append(message)
        event.append(contentsOf: "\n\n".utf8)
        return event
    }

    /// What routing needs of a JSON-RPC message: its id (numbers and strings alike, as text), its method, and the
    /// progress token a request asks its notifications under or a progress notification carries.
    struct Envelope {
        var id: String?
        var method: String?
        var progressToken: String?
        /// The request a `notifications/cancelled` cancels.
        var cancelledRequest: String?
        /// A `tools/call` request's id and parameters, read from this same parse: swift-sdk's `Value` decodes each
        /// argument by trying it as every JSON type in turn, each miss a thrown error, which cost a short exec's
        /// call more than any other step at the door. Nil for any other message, and for an id or argument this
        /// does not read (a fractional id), which the SDK's decoder then reads.
        var toolCall: (id: ID, params: CallTool.Parameters)?

        init?(_ data: Data) {
            let object: [String: Any]
            do {
                guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
                object = parsed
            } catch {
                return nil  // not JSON: the caller answers that it is not a JSON-RPC message
            }
            id = Self.text(object["id"])
            method = object["method"] as? String
            let params = object["params"] as? [String: Any]
            let meta = params?["_meta"] as? [String: Any]
            progressToken = Self.text(meta?["progressToken"] ?? params?["progressToken"])
            if method == CancelledNotification.name { cancelledRequest = Self.text(params?["requestId"]) }
            guard method != nil || id != nil else { return nil }
            if method == CallTool.name, let params { toolCall = Self.toolCall(id: object["id"], params: params) }
        }

        static func toolCall(id: Any?, params: [String: Any]) -> (id: ID, params: CallTool.Parameters)? {
            let requestID: ID
            if let string = id as? String {
                requestID = .string(string)
            } else if let number = id as? NSNumber, let integer = integer(number) {
                requestID = .number(integer)
            } else {
                return nil
            }
            guard let name = params["name"] as? String else { return nil }
            var arguments: [String: Value]?
            if let given = params["arguments"], !(given is NSNull) {
                guard case .object(let object)? = value(given) else { return nil }
                arguments = object
            }
            return (requestID, CallTool.Parameters(name: name, arguments: arguments))
        }

        /// A JSONSerialization value as the SDK's `Value`: Foundation gives JSON's `true` and `false` as booleans
        /// (objCType "c"); a whole number that fits an `Int` is one, as the SDK reads it, and any other a double.
        /// Strings stay strings (the SDK would read a `data:` URL as bytes; no tool here takes bytes).
        static func value(_ any: Any) -> Value? {
            switch any {
            case is NSNull: return .null
            case let string as String: return .string(string)
            case let number as NSNumber:
                if String(cString: number.objCType) == "c" { return .bool(number.boolValue) }
                if let integer = integer(number) { return .int(integer) }
                return .double(number.doubleValue)
            case let array as [Any]:
                var values: [Value] = []
                for element in array {
                    guard let value = value(element) else { return nil }
                    values.append(value)
                }
                return .array(values)
            case let object as [String: Any]:
                var values: [String: Value] = [:]
                for (key, element) in object {
                    guard let value = value(element) else { return nil }
                    values[key] = value
                }
                return .object(values)
            default: return nil
            }
        }

        /// The number as an `Int` when it is a whole number that fits one (`1e3` too), as the SDK's decoder reads it.
        static func integer(_ number: NSNumber) -> Int? {
            switch String(cString: number.objCType) {
            case "c": return nil
            case "d", "f": return Int(exactly: number.doubleValue)
            case "Q", "L": return number.uint64Value <= UInt64(Int.max) ? Int(number.uint64Value) : nil
            default: return number.intValue
            }
        }

        static func text(_ value: Any?) -> String? {
            if let string = value as? String { return "s:" + string }
            if let number = value as? NSNumber { return "n:" + number.stringValue }
            return nil
        }
    }
}
