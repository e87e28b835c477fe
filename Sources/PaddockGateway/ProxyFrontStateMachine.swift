import NIOCore
import NIOHTTP1
import NIOTLS
import PaddockCore

/// The proxy protocol of one connection from a sandbox, as a value: `ProxyFrontHandler` tells it what happened
/// (a request part arrived, policy decided, an upstream connected, answered or closed, the client left) and
/// carries out the `Action` it answers with. It does no I/O, so every path can be driven without sockets.
///
/// Every request is decided before anything is dialled; a refusal answers with a status and a reason, records
/// the request and ends the connection. Input the protocol does not allow (a request head while a body is still
/// arriving, a body part without a request, a request behind an unanswered CONNECT) is refused with a 400 and
/// ends the connection too; once closed, everything further is ignored. Nothing here traps on outside input.
struct ProxyFrontStateMachine {
    typealias UpstreamID = Int

    enum Mode {
        /// Plain proxy requests from the sandbox.
        case proxy
        /// Decrypted requests inside a CONNECT to `route`, forwarded over verified TLS.
        case intercepted(GatewaySession.Route)
    }

    struct Target: Equatable {
        let host: String
        let port: UInt16
        let tls: Bool
    }

    /// Why dialling failed: the address did not make a socket address, or the connection failed.
    enum DialFailure: Error {
        case address(String)
        case connect(String)
    }

    /// What the handler does next.
    enum Action {
        /// Nothing to do.
        case none
        /// Sends a request part upstream, flushing after it when `flush`.
        case forward(HTTPClientRequestPart, flush: Bool)
        /// Sends these parts upstream, then flushes (parts held while the upstream was dialled; a swapped body).
        case forwardAll([HTTPClientRequestPart])
        /// A request was accepted: lets `closeUpstream` go (an idle connection to another host), answers
        /// `100 Continue` when `sendContinue`, then does `then`.
        case startRequest(closeUpstream: UpstreamID?, sendContinue: Bool, then: Next)
        /// Dials an upstream for `route`; answer with `upstreamConnected` or `upstreamConnectFailed`.
        case dial(UpstreamID, GatewaySession.Route, tls: Bool)
        /// Writes a response part to the client (flushed when the upstream's read completes).
        case respond(HTTPServerResponsePart)
        /// Ends the response, records `record`, and closes the connection when `close`.
        case endResponse(HTTPHeaders?, record: [GatewayAuditEvent], close: Bool)
        /// Records `record`, lets the upstream go, answers `status` with `reason` and closes the connection.
        case refuse(status: Int, reason: String, record: [GatewayAuditEvent])
        /// Like `refuse`, for a model call: the answer is the model API's own error shape, so the agent's SDK shows
        /// the reason instead of a parse error.
        case refuseModelCall(status: Int, reason: String, record: [GatewayAuditEvent])
        /// Records `record`, lets the upstream go and closes the connection without an answer.
        case close(record: [GatewayAuditEvent])
        /// Records `record`; nothing else (the client has gone).
        case record([GatewayAuditEvent])
        /// Closes this upstream connection (a late one, or one that answered nothing it was asked).
        case closeUpstream(UpstreamID)
        /// CONNECT: lets `closeUpstream` go, asks policy (and any approver) about `host:port`; answer with
        /// `connectDecided`.
        case authorizeConnect(host: String, port: UInt16, closeUpstream: UpstreamID?)
        /// CONNECT to a host with a secret: makes the TLS server context; answer with `interceptReady` or
        /// `interceptFailed`.
        case prepareIntercept(GatewaySession.Route)
        /// Answers 200 and puts TLS termination and an intercepting front handler in place of this one.
        case switchToIntercept(GatewaySession.Route, GatewayAuditEvent)
        /// CONNECT to any other host: dials a raw tunnel; answer with `tunnelConnected` or
        /// `tunnelConnectFailed`. The tunnel records `event` when it ends.
        case dialTunnel(GatewaySession.Route, GatewayAuditEvent)
        /// Answers 200 and joins the connection to the dialled tunnel in place of this handler.
        case switchToTunnel(GatewaySession.Route, GatewayAuditEvent)
        /// Closes the dialled tunnel unused and records `record` (the tunnel's own record is not made).
        case closeTunnel(record: [GatewayAuditEvent])

        /// What a new request needs after it was accepted.
        enum Next {
            case nothing
            /// Send the head on the upstream connection already open.
            case forward(HTTPRequestHead)
            /// Ask policy (and any approver) where the new upstream may go; answer with `policyDecided`.
            case authorize(UpstreamID, host: String, port: UInt16)
            /// Dial the new upstream (inside an intercepted CONNECT, whose route is already decided).
            case dial(UpstreamID, GatewaySession.Route, tls: Bool)
        }

        /// Whether the connection ends with this action (nothing more is read from it).
        var endsConnection: Bool {
            switch self {
            case .refuse, .refuseModelCall, .close, .record: true
            case .endResponse(_, _, let close): close
            default: false
            }
        }
    }

    // MARK: States

    private enum State {
        /// Reading HTTP requests: between them, with a body arriving, or with responses outstanding.
        case http(HTTPState)
        /// A CONNECT being decided, its tunnel or interception prepared, or the connection being handed over.
        case connect(ConnectState)
        /// Refused, closed or handed over: everything further is ignored.
        case closed
        /// Only while a state is changed in place (so its arrays are not copied).
        case modifying
    }

    struct HTTPState {
        var upstream: Upstream?
        /// Request parts waiting for the upstream to be decided and dialled.
        var pending: [HTTPClientRequestPart] = []
        /// Requests sent (or waiting to be sent) upstream whose response has not ended, oldest first.
        var inflight: [Exchange] = []
        /// The request whose body is arriving.
        var receiving: Receiving?
        var nextExchange = 0
        var nextUpstream: UpstreamID = 0
    }

    struct Upstream {
        enum Phase {
            case authorizing
            case dialing(GatewaySession.Route)
            case connected(GatewaySession.Route)
        }
        let id: UpstreamID
        let target: Target
        /// The request it was opened for: the decision and the address dialled go into its audit event.
        let opener: Int
        var phase: Phase

        /// Where it goes, once decided.
        var route: GatewaySession.Route? {
            switch phase {
            case .authorizing: nil
            case .dialing(let route), .connected(let route): route
            }
        }
    }

    /// One request and its response.
    struct Exchange {
        let id: Int
        var event: GatewayAuditEvent
        let keepAlive: Bool
        var responseStarted = false
        /// Reads the response's token usage, for a model API call.
        var meter: ModelUsageMeter?
        /// Reads the request's `tools/call`s, for a call to one of the session's MCP servers.
        var mcpReader: MCPCallReader?
    }

    struct Receiving {
        let exchange: Int
        /// Set while the body is buffered for a placeholder swap.
        var held: HeldBody?
    }

    /// A request held back until its body is complete: the head waiting to go, the body so far, and the
    /// secrets whose placeholders are swapped in it.
    struct HeldBody {
        var head: HTTPRequestHead
        var body: ByteBuffer
        let secrets: [GatewaySecret]
    }

    struct ConnectState {
        enum Phase {
            case deciding
            case preparingIntercept(GatewaySession.Route)
            case dialingTunnel(GatewaySession.Route)
            case handingOver
        }
        var event: GatewayAuditEvent
        let intercept: Bool
        var phase: Phase
        /// The client closed while the CONNECT was decided or dialled: the outcome is recorded, nothing sent.
        var clientGone = false
    }

    let session: String
    let mode: Mode
    let secrets: [GatewaySecret]
    /// The name-only policy decision for `host:port`, asked afresh for every request (policy changes live).
    let decide: (String, UInt16) -> Result<PolicyDecision, GatewaySession.Refusal>
    /// Why model calls are refused now (a spent budget), asked for every model call; nil lets them go.
    let modelCallRefusal: () -> String?
    /// The session's remote MCP servers: their hosts are intercepted and their tool calls read.
    var mcpServers: [GatewayMCPServer] = []
    private var state: State = .http(HTTPState())

    init(
        session: String, mode: Mode, secrets: [GatewaySecret],
        decide: @escaping (String, UInt16) -> Result<PolicyDecision, GatewaySession.Refusal>,
        modelCallRefusal: @escaping () -> String? = { nil }
    ) {
        self.session = session
        self.mode = mode
        self.secrets = secrets
        self.decide = decide
        self.modelCallRefusal = modelCallRefusal
    }

    /// For tests and logs: the state's name.
    var stateName: String {
        switch state {
        case .http(let http):
            if http.receiving != nil { return "receivingBody" }
            return http.inflight.isEmpty ? "idle" : "awaitingResponse"
        case .connect(let connect):
            switch connect.phase {
            case .deciding: return "connectDeciding"
            case .preparingIntercept: return "connectPreparingIntercept"
            case .dialingTunnel: return "connectDialingTunnel"
            case .handingOver: return "handingOver"
            }
        case .closed: return "closed"
        case .modifying: return "modifying"
        }
    }

    // MARK: Requests from the client

    mutating func requestHead(_ head: HTTPRequestHead) -> Action {
        switch state {
        case .closed:
            return .none
        case .connect(let connect):
            var event = connect.event
            event.reason = "a request arrived before the CONNECT was answered; the connection was closed"
            state = .closed
            return violation("a request arrived before the CONNECT was answered", method: head.method, also: [event])
        case .http(var http):
            if http.receiving != nil {
                state = .closed
                return violation(
                    "a request arrived before the previous request's body ended", method: head.method,
                    also: abandoned(http, excluding: nil, because: "a request arrived before its body ended"))
            }
            if case .proxy = mode, head.method == .CONNECT { return connect(head, http) }
            state = .modifying
            let action = request(head, &http)
            state = action.endsConnection ? .closed : .http(http)
            return action
        case .modifying:
            preconditionFailure("the proxy state machine was re-entered while it was changing")
        }
    }

    mutating func requestBody(_ buffer: ByteBuffer) -> Action {
        switch state {
        case .closed, .connect:
            // After a refusal, or bytes behind a CONNECT: nothing is read any more.
            return .none
        case .http(var http):
            guard var receiving = http.receiving else {
                state = .closed
                return violation(
                    "a request body arrived without a request", method: nil,
                    also: abandoned(http, excluding: nil, because: "a request body arrived without a request"))
            }
            state = .modifying
            let index = http.inflight.firstIndex { $0.id == receiving.exchange }
            if let index {
                http.inflight[index].event.bytesUp += buffer.readableBytes
                http.inflight[index].mcpReader?.read(buffer)
            }
            let action: Action
            if var held = receiving.held {
                if held.body.readableBytes + buffer.readableBytes > GatewaySecret.maxSwappedBody, let index {
                    action = refusal(
                        413, Self.tooLargeToSwap, http.inflight[index].event, http, excluding: receiving.exchange)
                } else {
                    var buffer = buffer
                    held.body.writeBuffer(&buffer)
                    receiving.held = held
                    http.receiving = receiving
                    action = .none
                }
            } else {
                if let index { noteMisuse(in: buffer, event: &http.inflight[index].event) }
                action = forward(.body(.byteBuffer(buffer)), flush: false, &http)
            }
            state = action.endsConnection ? .closed : .http(http)
            return action
        case .modifying:
            preconditionFailure("the proxy state machine was re-entered while it was changing")
        }
    }

    mutating func requestEnd(_ trailers: HTTPHeaders?) -> Action {
        switch state {
        case .closed, .connect:
            // A CONNECT's own end, or the rest of a refused request.
            return .none
        case .http(var http):
            guard let receiving = http.receiving else {
                state = .closed
                return violation(
                    "a request ended that had not started", method: nil,
                    also: abandoned(http, excluding: nil, because: "a request ended that had not started"))
            }
            state = .modifying
            http.receiving = nil
            if let index = http.inflight.firstIndex(where: { $0.id == receiving.exchange }),
                let reader = http.inflight[index].mcpReader
            {
                let calls = reader.end()
                if !calls.isEmpty { http.inflight[index].event.mcpCalls = calls }
            }
            let action: Action
            if let held = receiving.held {
                // The swapped body goes with a Content-Length, where trailers have no place. (A held request is
                // in flight until its response ends, which cannot start before it is sent.)
                if let index = http.inflight.firstIndex(where: { $0.id == receiving.exchange }) {
                    action = forwardAll(swapped(held, event: &http.inflight[index].event), &http)
                } else {
                    action = .none
                }
            } else {
                action = forward(.end(trailers), flush: true, &http)
            }
            state = .http(http)
            return action
        case .modifying:
            preconditionFailure("the proxy state machine was re-entered while it was changing")
        }
    }

    // MARK: The upstream

    /// Policy (and an approver, for `ask`) decided where upstream `id` may go.
    mutating func policyDecided(_ id: UpstreamID, _ result: Result<GatewaySession.Route, GatewaySession.Refusal>)
        -> Action
    {
        guard case .http(var http) = state, var upstream = http.upstream, upstream.id == id,
            case .authorizing = upstream.phase,
            let index = http.inflight.firstIndex(where: { $0.id == upstream.opener })
        else { return .none }
        state = .modifying
        let action: Action
        switch result {
        case .failure(let refused):
            http.inflight[index].event.rule = refused.decision?.description
            action = refusal(
                refused.status, refused.reason, http.inflight[index].event, http, excluding: upstream.opener)
        case .success(let route):
            http.inflight[index].event.rule = route.decision.description
            http.inflight[index].event.address = route.address.description
            upstream.phase = .dialing(route)
            http.upstream = upstream
            action = .dial(id, route, tls: upstream.target.tls)
        }
        state = action.endsConnection ? .closed : .http(http)
        return action
    }

    mutating func upstreamConnected(_ id: UpstreamID) -> Action {
        guard case .http(var http) = state, var upstream = http.upstream, upstream.id == id,
            case .dialing(let route) = upstream.phase
        else { return .closeUpstream(id) }
        state = .modifying
        upstream.phase = .connected(route)
        http.upstream = upstream
        let parts = http.pending
        http.pending = []
        state = .http(http)
        return .forwardAll(parts)
    }

    mutating func upstreamConnectFailed(_ id: UpstreamID, _ failure: DialFailure) -> Action {
        guard case .http(let http) = state, let upstream = http.upstream, upstream.id == id,
            case .dialing(let route) = upstream.phase,
            let exchange = http.inflight.first(where: { $0.id == upstream.opener })
        else { return .none }
        state = .closed
        return refusal(502, Self.describe(failure, route), exchange.event, http, excluding: exchange.id)
    }

    mutating func upstreamResponse(_ part: HTTPClientResponsePart, from id: UpstreamID) -> Action {
        guard case .http(var http) = state, http.upstream?.id == id else {
            // From a connection already let go: dropped.
            return .none
        }
        guard !http.inflight.isEmpty else { return .closeUpstream(id) }
        state = .modifying
        let action: Action
        switch part {
        case .head(let head):
            http.inflight[0].event.status = Int(head.status.code)
            http.inflight[0].meter?.head(
                contentType: head.headers.first(name: "content-type"),
                contentEncoding: head.headers.first(name: "content-encoding"))
            if head.status.code >= 200 { http.inflight[0].responseStarted = true }
            action = .respond(.head(head))
        case .body(let buffer):
            http.inflight[0].event.bytesDown += buffer.readableBytes
            http.inflight[0].meter?.body(buffer)
            action = .respond(.body(.byteBuffer(buffer)))
        case .end(let trailers):
            var exchange = http.inflight.removeFirst()
            exchange.event.modelUsage = exchange.meter?.end()
            if exchange.keepAlive {
                action = .endResponse(trailers, record: [exchange.event], close: false)
            } else {
                let rest = abandoned(http, excluding: nil, because: "an earlier request asked to close the connection")
                action = .endResponse(trailers, record: [exchange.event] + rest, close: true)
            }
        }
        state = action.endsConnection ? .closed : .http(http)
        return action
    }

    mutating func upstreamClosed(_ id: UpstreamID, error: String?) -> Action {
        guard case .http(var http) = state, let upstream = http.upstream, upstream.id == id else { return .none }
        state = .modifying
        http.upstream = nil
        http.pending = []
        guard let first = http.inflight.first else {
            state = .http(http)
            return .none
        }
        state = .closed
        if first.responseStarted {
            // Half a response cannot be completed: end the connection so the client sees the truncation.
            var event = first.event
            event.reason = "the upstream closed the connection mid-response"
            return .close(record: [event] + abandoned(http, excluding: first.id, because: event.reason ?? ""))
        }
        let detail = error ?? "it closed the connection"
        return refusal(
            502, "the upstream \(upstream.target.host):\(upstream.target.port) failed: \(detail)", first.event, http,
            excluding: first.id)
    }

    // MARK: CONNECT

    mutating func connectDecided(_ result: Result<GatewaySession.Route, GatewaySession.Refusal>) -> Action {
        guard case .connect(var connect) = state, case .deciding = connect.phase else { return .none }
        switch result {
        case .failure(let refused):
            connect.event.rule = refused.decision?.description
            state = .closed
            return refusal(refused.status, refused.reason, connect.event, clientGone: connect.clientGone)
        case .success(let route):
            connect.event.rule = route.decision.description
            connect.event.address = route.address.description
            if connect.clientGone {
                state = .closed
                return .record([Self.clientClosed(connect.event)])
            }
            if connect.intercept {
                connect.phase = .preparingIntercept(route)
                state = .connect(connect)
                return .prepareIntercept(route)
            }
            connect.phase = .dialingTunnel(route)
            state = .connect(connect)
            return .dialTunnel(route, connect.event)
        }
    }

    /// The TLS server context for an intercepted CONNECT is ready.
    mutating func interceptReady() -> Action {
        guard case .connect(var connect) = state, case .preparingIntercept(let route) = connect.phase else {
            return .none
        }
        if connect.clientGone {
            state = .closed
            return .record([Self.clientClosed(connect.event)])
        }
        connect.phase = .handingOver
        state = .connect(connect)
        return .switchToIntercept(route, connect.event)
    }

    mutating func interceptFailed(_ error: String) -> Action {
        guard case .connect(let connect) = state, case .preparingIntercept(let route) = connect.phase else {
            return .none
        }
        state = .closed
        return refusal(
            502, "could not issue a certificate for \(route.host): \(error)", connect.event,
            clientGone: connect.clientGone)
    }

    mutating func tunnelConnected() -> Action {
        guard case .connect(var connect) = state, case .dialingTunnel(let route) = connect.phase else {
            return .closeTunnel(record: [])
        }
        if connect.clientGone {
            state = .closed
            return .closeTunnel(record: [Self.clientClosed(connect.event)])
        }
        connect.phase = .handingOver
        state = .connect(connect)
        return .switchToTunnel(route, connect.event)
    }

    mutating func tunnelConnectFailed(_ failure: DialFailure) -> Action {
        guard case .connect(let connect) = state, case .dialingTunnel(let route) = connect.phase else { return .none }
        state = .closed
        return refusal(502, Self.describe(failure, route), connect.event, clientGone: connect.clientGone)
    }

    /// Handing the connection to the tunnel or to interception failed.
    mutating func switchFailed(_ error: String) -> Action {
        guard case .connect(var connect) = state, case .handingOver = connect.phase else { return .none }
        state = .closed
        connect.event.reason = "the connection could not be handed over after the CONNECT: \(error)"
        return .close(record: [connect.event])
    }

    // MARK: The client

    /// The client's connection closed: what was still in flight is recorded as cut short.
    mutating func channelInactive() -> Action {
        switch state {
        case .closed:
            return .none
        case .http(let http):
            state = .closed
            let events = http.inflight.map { exchange -> GatewayAuditEvent in
                var event = exchange.event
                event.reason =
                    exchange.event.status == nil
                    ? "the client closed the connection" : "the client closed the connection mid-response"
                return event
            }
            return events.isEmpty ? .none : .record(events)
        case .connect(var connect):
            if case .handingOver = connect.phase {
                state = .closed
                return .none
            }
            // The decision or the dial is still under way: its outcome is recorded when it comes.
            connect.clientGone = true
            state = .connect(connect)
            return .none
        case .modifying:
            preconditionFailure("the proxy state machine was re-entered while it was changing")
        }
    }

    // MARK: Deciding a request

    private mutating func connect(_ head: HTTPRequestHead, _ http: HTTPState) -> Action {
        guard let (host, port) = AbsoluteURL.hostAndPort(head.uri, defaultPort: nil) else {
            state = .closed
            return refusal(
                400, "CONNECT needs host:port, like api.example.com:443",
                GatewayAuditEvent(
                    session: session, method: "CONNECT", host: head.uri, port: 0, mode: "tunnel", decision: "deny"),
                http, excluding: nil)
        }
        let intercept =
            secrets.contains { $0.isScoped(to: host, port: port) }
            || mcpServers.contains { $0.host == host.lowercased() && $0.port == port }
        let event = GatewayAuditEvent(
            session: session, method: "CONNECT", host: host, port: port, mode: intercept ? "intercept" : "tunnel",
            decision: "allow")
        guard http.inflight.isEmpty else {
            state = .closed
            return refusal(
                400, "a CONNECT cannot follow requests whose responses have not ended; send it on a new connection",
                event, http, excluding: nil)
        }
        state = .connect(ConnectState(event: event, intercept: intercept, phase: .deciding))
        return .authorizeConnect(host: host, port: port, closeUpstream: http.upstream?.id)
    }

    private func request(_ head: HTTPRequestHead, _ http: inout HTTPState) -> Action {
        let target: Target
        var path: String
        switch mode {
        case .proxy:
            guard let url = AbsoluteURL(head.uri) else {
                return refusal(
                    400, "send proxy requests with an absolute http:// URL (or CONNECT host:443 for https)",
                    event(for: head, host: "-", port: 0, path: head.uri, mode: "http"), http, excluding: nil)
            }
            guard url.scheme == "http" else {
                return refusal(
                    400, "\(url.scheme):// is not proxied as a plain request; clients reach https through CONNECT",
                    event(for: head, host: url.host, port: url.port, path: url.path, mode: "http"), http,
                    excluding: nil)
            }
            target = Target(host: url.host, port: url.port, tls: false)
            path = url.path
        case .intercepted(let route):
            target = Target(host: route.host, port: route.port, tls: true)
            path = head.uri
        }
        var exchange = Exchange(
            id: http.nextExchange,
            event: event(
                for: head, host: target.host, port: target.port, path: path, mode: target.tls ? "intercept" : "http"),
            keepAlive: head.isKeepAlive)
        if let hostHeader = head.headers.first(name: "host"), AbsoluteURL.hostPart(of: hostHeader) != target.host {
            return refusal(
                403, "the Host header names '\(hostHeader)' but the request goes to \(target.host); they must match",
                exchange.event, http, excluding: nil)
        }
        guard path.hasPrefix("/") || path == "*" else {
            return refusal(400, "request target '\(path)' is not a path", exchange.event, http, excluding: nil)
        }
        var headers = head.headers
        let problems = applySecrets(to: &headers, path: &path, target: target, event: &exchange.event)
        guard problems.isEmpty else {
            return refusal(403, problems.joined(separator: "; "), exchange.event, http, excluding: nil)
        }
        for name in ["proxy-connection", "proxy-authorization", "proxy-authenticate"] { headers.remove(name: name) }
        if !headers.contains(name: "host") { headers.add(name: "host", value: AbsoluteURL.authority(target)) }
        var forwarded = HTTPRequestHead(version: head.version, method: head.method, uri: path, headers: headers)
        forwarded.version = .http1_1
        if let api = ModelUsageMeter.api(method: head.method.rawValue, path: path) {
            if let reason = modelCallRefusal() {
                // 402, not 429: SDKs retry a 429, and a spent budget does not come back by retrying.
                var refused = Self.refused(exchange.event, status: 402, reason: reason)
                refused.decision = "deny"
                let others = abandoned(http, excluding: nil, because: "a later model call was refused (\(reason))")
                return .refuseModelCall(status: 402, reason: reason, record: [refused] + others)
            }
            exchange.meter = ModelUsageMeter(api: api)
            // The meter reads the body as it passes; a compressed one it could not.
            forwarded.headers.replaceOrAdd(name: "accept-encoding", value: "identity")
        }
        if head.method == .POST,
            let server = GatewayMCPServer.matching(mcpServers, host: target.host, port: target.port, path: path)
        {
            exchange.mcpReader = MCPCallReader(server: server.name)
        }
        // Live policy changes apply to the next request, even on a connection already open.
        switch decide(target.host, target.port) {
        case .failure(let refused):
            exchange.event.rule = refused.decision?.description
            return refusal(refused.status, refused.reason, exchange.event, http, excluding: nil)
        case .success(let decision):
            exchange.event.rule = decision.description
        }
        var closeUpstream: UpstreamID?
        if let existing = http.upstream, existing.target != target {
            // Keep-alive to another host: the idle upstream connection is let go.
            guard http.inflight.isEmpty else {
                return refusal(
                    400, "a connection cannot pipeline requests to different hosts", exchange.event, http,
                    excluding: nil)
            }
            closeUpstream = existing.id
            http.upstream = nil
            http.pending = []
        }
        // A request to a host with a body-swapped secret is held until its body is complete.
        let bodySecrets = secrets.filter {
            $0.inBody && $0.isScoped(to: target.host, port: target.port) && (target.tls || $0.allowHTTP)
        }
        let length = forwarded.headers.first(name: "content-length").flatMap(Int.init)
        let chunked = forwarded.headers[canonicalForm: "transfer-encoding"].contains { $0.lowercased() == "chunked" }
        var held: HeldBody?
        var sendContinue = false
        if !bodySecrets.isEmpty, (length ?? 0) > 0 || chunked {
            if let length, length > GatewaySecret.maxSwappedBody {
                return refusal(413, Self.tooLargeToSwap, exchange.event, http, excluding: nil)
            }
            if forwarded.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                // Answered here: the upstream sees the request only once the body is complete.
                forwarded.headers.remove(name: "expect")
                sendContinue = true
            }
            held = HeldBody(head: forwarded, body: ByteBuffer(), secrets: bodySecrets)
        }
        http.nextExchange += 1
        http.receiving = Receiving(exchange: exchange.id, held: held)
        if let existing = http.upstream {
            // Reusing the connection: the same address as before.
            exchange.event.address = existing.route?.address.description
            http.inflight.append(exchange)
            guard held == nil else {
                return .startRequest(closeUpstream: closeUpstream, sendContinue: sendContinue, then: .nothing)
            }
            if case .connected = existing.phase {
                return .startRequest(
                    closeUpstream: closeUpstream, sendContinue: sendContinue, then: .forward(forwarded))
            }
            http.pending.append(.head(forwarded))
            return .startRequest(closeUpstream: closeUpstream, sendContinue: sendContinue, then: .nothing)
        }
        if held == nil { http.pending.append(.head(forwarded)) }
        let id = http.nextUpstream
        http.nextUpstream += 1
        let next: Action.Next
        if case .intercepted(let route) = mode {
            exchange.event.address = route.address.description
            http.upstream = Upstream(id: id, target: target, opener: exchange.id, phase: .dialing(route))
            next = .dial(id, route, tls: true)
        } else {
            http.upstream = Upstream(id: id, target: target, opener: exchange.id, phase: .authorizing)
            next = .authorize(id, host: target.host, port: target.port)
        }
        http.inflight.append(exchange)
        return .startRequest(closeUpstream: closeUpstream, sendContinue: sendContinue, then: next)
    }

    private func event(for head: HTTPRequestHead, host: String, port: UInt16, path: String?, mode: String)
        -> GatewayAuditEvent
    {
        GatewayAuditEvent(
            session: session, method: head.method.rawValue, host: host, port: port,
            path: path.map(AbsoluteURL.redactingQuery), mode: mode, decision: "allow")
    }

    /// Swaps placeholders for values where the secret may go. Returns why the request must be refused when a
    /// placeholder is sent anywhere else (empty when it may go).
    private func applySecrets(
        to headers: inout HTTPHeaders, path: inout String, target: Target, event: inout GatewayAuditEvent
    ) -> [String] {
        var problems: [String] = []
        for secret in secrets {
            let inHeaders = headers.contains { $0.value.containsBytes(secret.placeholder) }
            let inPath = path.containsBytes(secret.placeholder)
            guard inHeaders || inPath else { continue }
            let scoped = secret.isScoped(to: target.host, port: target.port)
            if scoped && (target.tls || secret.allowHTTP) {
                if inHeaders {
                    var swapped = HTTPHeaders()
                    for (name, value) in headers {
                        swapped.add(name: name, value: value.replacingAll(secret.placeholder, with: secret.value))
                    }
                    headers = swapped
                }
                if inPath { path = path.replacingAll(secret.placeholder, with: secret.value) }
                event.secretsInjected.append(secret.name)
            } else {
                event.placeholderMisuse.append(secret.name)
                problems.append(
                    scoped
                        ? "secret \(secret.name) is only sent over TLS; use https:// (or set the secret with "
                            + "--allow-http)"
                        : "the request carries the placeholder of secret \(secret.name), which may only be sent to "
                            + "\(secret.scopeDescription); it was not sent to \(target.host):\(target.port)")
            }
        }
        return problems
    }

    /// A held request ready to go: placeholders of the body-swapped secrets replaced by their values, the length
    /// set to the new size; any other secret's placeholder in the body is recorded as misuse.
    private func swapped(_ held: HeldBody, event: inout GatewayAuditEvent) -> [HTTPClientRequestPart] {
        var body = Array(held.body.readableBytesView)
        for secret in held.secrets {
            let placeholder = Array(secret.placeholder.utf8)
            guard body.withUnsafeBytes({ ByteSearch.contains(placeholder, in: $0) }) else { continue }
            body = ByteSearch.replacingAll(placeholder, with: Array(secret.value.utf8), in: body)
            if !event.secretsInjected.contains(secret.name) { event.secretsInjected.append(secret.name) }
        }
        let buffer = ByteBuffer(bytes: body)
        noteMisuse(in: buffer, event: &event)
        var head = held.head
        head.headers.remove(name: "transfer-encoding")
        head.headers.replaceOrAdd(name: "content-length", value: String(body.count))
        return [.head(head), .body(.byteBuffer(buffer)), .end(nil)]
    }

    /// A placeholder in a body cannot be taken back once the head has gone; it is only recorded.
    private func noteMisuse(in buffer: ByteBuffer, event: inout GatewayAuditEvent) {
        for secret in secrets where buffer.containsBytes(secret.placeholder) {
            if !event.placeholderMisuse.contains(secret.name) { event.placeholderMisuse.append(secret.name) }
        }
    }

    /// Sends `part` upstream when it is connected, keeps it until then, or drops it when there is no upstream
    /// (the rest of a body whose response has already ended and whose connection has closed).
    private func forward(_ part: HTTPClientRequestPart, flush: Bool, _ http: inout HTTPState) -> Action {
        guard let upstream = http.upstream else { return .none }
        if case .connected = upstream.phase { return .forward(part, flush: flush) }
        http.pending.append(part)
        return .none
    }

    private func forwardAll(_ parts: [HTTPClientRequestPart], _ http: inout HTTPState) -> Action {
        guard let upstream = http.upstream else { return .none }
        if case .connected = upstream.phase { return .forwardAll(parts) }
        http.pending += parts
        return .none
    }

    // MARK: Refusals

    static let tooLargeToSwap =
        "a request body that may carry a secret's placeholder is swapped only up to "
        + "\(GatewaySecret.maxSwappedBody >> 20) MiB; send a smaller body"

    /// Refuses `event` with `status` and `reason`; the other requests in flight on the connection (except
    /// `excluding`, the refused one) are recorded as cut short.
    private func refusal(
        _ status: Int, _ reason: String, _ event: GatewayAuditEvent, _ http: HTTPState, excluding: Int?
    ) -> Action {
        let refused = Self.refused(event, status: status, reason: reason)
        let others = abandoned(http, excluding: excluding, because: "a later request was refused (\(reason))")
        return .refuse(status: status, reason: reason, record: [refused] + others)
    }

    private func refusal(_ status: Int, _ reason: String, _ event: GatewayAuditEvent, clientGone: Bool) -> Action {
        let refused = Self.refused(event, status: status, reason: reason)
        return clientGone ? .record([refused]) : .refuse(status: status, reason: reason, record: [refused])
    }

    private static func refused(_ event: GatewayAuditEvent, status: Int, reason: String) -> GatewayAuditEvent {
        var event = event
        event.status = status
        event.reason = reason
        if status == 403 || status == 400 { event.decision = "deny" }
        return event
    }

    /// Input HTTP does not allow here: refused with a 400, and the connection ends.
    private func violation(_ reason: String, method: HTTPMethod?, also: [GatewayAuditEvent]) -> Action {
        let event = GatewayAuditEvent(
            session: session, method: method?.rawValue ?? "-", host: "-", port: 0, mode: "http", decision: "deny")
        let refused = Self.refused(event, status: 400, reason: reason)
        return .refuse(status: 400, reason: reason, record: [refused] + also)
    }

    /// The requests in flight, each with why it did not end.
    private func abandoned(_ http: HTTPState, excluding: Int?, because reason: String) -> [GatewayAuditEvent] {
        http.inflight.compactMap { exchange in
            guard exchange.id != excluding else { return nil }
            var event = exchange.event
            event.reason = "the connection was closed before the response ended: \(reason)"
            return event
        }
    }

    private static func clientClosed(_ event: GatewayAuditEvent) -> GatewayAuditEvent {
        var event = event
        event.reason = "the client closed the connection"
        return event
    }

    private static func describe(_ failure: DialFailure, _ route: GatewaySession.Route) -> String {
        switch failure {
        case .address(let error): "cannot dial \(route.address): \(error)"
        case .connect(let error): "cannot connect to \(route.host):\(route.port) (\(route.address)): \(error)"
        }
    }

    /// Why a tunnel's TLS ClientHello is refused: its server name is not the CONNECT host (or it names none for
    /// a host that is not an address). Nil lets it through.
    static func serverNameProblem(_ result: SNIResult, route: GatewaySession.Route) -> String? {
        switch result {
        case .hostname(let name):
            AbsoluteURL.normalizedHost(name) == route.host
                ? nil : "the TLS server name '\(name)' does not match the CONNECT target \(route.host)"
        case .fallback:
            IPAddress(route.host) != nil
                ? nil
                : "the tunnel to \(route.host) did not start with a TLS ClientHello naming it; only TLS whose "
                    + "server name matches the CONNECT target is tunnelled"
        }
    }
}
