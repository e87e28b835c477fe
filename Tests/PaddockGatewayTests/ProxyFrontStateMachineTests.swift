import NIOCore
import NIOHTTP1
import NIOTLS
import PaddockCore
import Testing

@testable import PaddockGateway

/// The front handler's protocol without sockets: each test feeds `ProxyFrontStateMachine` the events of one
/// connection and checks the actions it answers with.
struct ProxyFrontStateMachineTests {
    typealias Machine = ProxyFrontStateMachine
    typealias Action = ProxyFrontStateMachine.Action

    static let session = "sess1"
    static let allowed = PolicyDecision(.allow, .rule(PolicyRule(.allow, "example.com")))

    static func machine(
        _ mode: Machine.Mode = .proxy, secrets: [GatewaySecret] = [],
        decide: @escaping (String, UInt16) -> Result<PolicyDecision, GatewaySession.Refusal> = { _, _ in
            .success(allowed)
        }
    ) -> Machine {
        Machine(session: session, mode: mode, secrets: secrets, decide: decide)
    }

    static func route(_ host: String = "example.com", port: UInt16 = 80, address: String = "93.184.216.34") throws
        -> GatewaySession.Route
    {
        GatewaySession.Route(host: host, port: port, address: try #require(IPAddress(address)), decision: allowed)
    }

    static func head(_ uri: String, method: HTTPMethod = .GET, headers: [(String, String)] = []) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    /// A plain request to example.com decided, dialled and connected: upstream 0, one exchange in flight with
    /// its request ended.
    static func connected(_ machine: inout Machine, uri: String = "http://example.com/a") throws {
        let start = machine.requestHead(head(uri))
        #expect(start.started?.next.authorizes == 0)
        #expect(machine.requestEnd(nil).isNone)
        #expect(machine.policyDecided(0, .success(try route())).dials == 0)
        #expect(machine.upstreamConnected(0).forwardedAll?.count == 2)
    }

    /// The upstream answers 200 with `body` and ends.
    static func respond(_ machine: inout Machine, from id: Int = 0, body: String = "ok") -> Action {
        let response = HTTPResponseHead(version: .http1_1, status: .ok)
        #expect(machine.upstreamResponse(.head(response), from: id).responds)
        #expect(machine.upstreamResponse(.body(ByteBuffer(string: body)), from: id).responds)
        return machine.upstreamResponse(.end(nil), from: id)
    }

    // MARK: Plain HTTP

    @Test func plainRequestIsDecidedDialledForwardedAndRecorded() throws {
        var machine = Self.machine()
        let start = machine.requestHead(
            Self.head(
                "http://Example.com/a?token=secret", method: .GET,
                headers: [("Host", "example.com"), ("Proxy-Connection", "keep-alive"), ("Accept", "*/*")]))
        let started = try #require(start.started)
        #expect(started.closeUpstream == nil && !started.sendContinue)
        #expect(started.next.authorizes == 0)
        #expect(machine.stateName == "receivingBody")
        // The body waits for the upstream.
        #expect(machine.requestBody(ByteBuffer(string: "hello")).isNone)
        #expect(machine.requestEnd(nil).isNone)
        #expect(machine.stateName == "awaitingResponse")
        let dial = machine.policyDecided(0, .success(try Self.route()))
        #expect(dial.dials == 0)
        let parts = try #require(machine.upstreamConnected(0).forwardedAll)
        #expect(parts.count == 3)
        guard case .head(let forwarded) = parts.first else {
            Issue.record("the head goes first: \(parts)")
            return
        }
        #expect(forwarded.uri == "/a?token=secret")
        #expect(forwarded.headers["proxy-connection"].isEmpty)
        #expect(forwarded.headers["accept"] == ["*/*"])
        let end = Self.respond(&machine, body: "12345")
        let (trailers, record, close) = try #require(end.ended)
        #expect(trailers == nil && !close)
        let event = try #require(record.first)
        #expect(record.count == 1)
        #expect(event.status == 200 && event.bytesUp == 5 && event.bytesDown == 5)
        #expect(event.host == "example.com" && event.port == 80 && event.mode == "http")
        #expect(event.path == "/a?…")
        #expect(event.decision == "allow" && event.address == "93.184.216.34")
        #expect(event.rule == Self.allowed.description)
        #expect(machine.stateName == "idle")
    }

    @Test func keepAliveReusesTheUpstreamAndAnotherHostLetsItGo() throws {
        var machine = Self.machine()
        try Self.connected(&machine)
        #expect(Self.respond(&machine).ended?.close == false)
        // The same host: forwarded on the open connection at once.
        let again = try #require(machine.requestHead(Self.head("http://example.com/b")).started)
        guard case .forward(let head) = again.next else {
            Issue.record("expected the head to be forwarded, got \(again.next)")
            return
        }
        #expect(head.uri == "/b")
        #expect(machine.requestEnd(nil).forwardedPart?.flush == true)
        let second = try #require(Self.respond(&machine).ended?.record.first)
        #expect(second.address == "93.184.216.34" && second.path == "/b")
        // Another host: the idle connection is let go and a new one decided.
        let other = try #require(machine.requestHead(Self.head("http://other.example/")).started)
        #expect(other.closeUpstream == 0)
        #expect(other.next.authorizes == 1)
        // The old connection closing now is no news.
        #expect(machine.upstreamClosed(0, error: nil).isNone)
    }

    @Test func pipelinedRequestsToTheSameHostAreAnsweredInOrder() throws {
        var machine = Self.machine()
        try Self.connected(&machine, uri: "http://example.com/first")
        let second = try #require(machine.requestHead(Self.head("http://example.com/second")).started)
        #expect(second.next.forwards)
        #expect(machine.requestEnd(nil).forwardedPart != nil)
        let first = try #require(Self.respond(&machine).ended?.record)
        #expect(first.map(\.path) == ["/first"])
        let then = try #require(Self.respond(&machine).ended?.record)
        #expect(then.map(\.path) == ["/second"])
    }

    @Test func pipeliningToAnotherHostIsRefusedAndTheRequestInFlightRecorded() throws {
        var machine = Self.machine()
        try Self.connected(&machine)
        let refused = try #require(machine.requestHead(Self.head("http://other.example/")).refusal)
        #expect(refused.status == 400 && refused.reason.contains("pipeline"))
        #expect(refused.record.count == 2)
        #expect(refused.record[0].host == "other.example" && refused.record[0].decision == "deny")
        #expect(refused.record[1].path == "/a" && refused.record[1].reason?.contains("before the response") == true)
        #expect(machine.stateName == "closed")
        // The response still arriving goes nowhere.
        #expect(machine.upstreamResponse(.end(nil), from: 0).isNone)
    }

    @Test func aRequestAskingToCloseEndsTheConnectionAfterItsResponse() throws {
        var machine = Self.machine()
        _ = machine.requestHead(Self.head("http://example.com/", headers: [("Connection", "close")]))
        _ = machine.requestEnd(nil)
        _ = machine.policyDecided(0, .success(try Self.route()))
        _ = machine.upstreamConnected(0)
        #expect(Self.respond(&machine).ended?.close == true)
        #expect(machine.stateName == "closed")
        #expect(machine.requestHead(Self.head("http://example.com/")).isNone)
    }

    @Test func malformedRequestsAreRefusedBeforeAnythingIsDecided() throws {
        var decided = 0
        func fresh() -> Machine {
            Self.machine { _, _ in
                decided += 1
                return .success(Self.allowed)
            }
        }
        var machine = fresh()
        #expect(machine.requestHead(Self.head("/relative")).refusal?.status == 400)
        machine = fresh()
        let https = try #require(machine.requestHead(Self.head("https://example.com/")).refusal)
        #expect(https.status == 400 && https.reason.contains("CONNECT"))
        machine = fresh()
        let host = try #require(
            machine.requestHead(Self.head("http://example.com/", headers: [("Host", "evil.example")])).refusal)
        #expect(host.status == 403 && host.reason.contains("Host header"))
        #expect(host.record.first?.decision == "deny")
        // Inside an intercepted CONNECT, the target must be a path.
        machine = Self.machine(.intercepted(try Self.route(port: 443)))
        #expect(machine.requestHead(Self.head("example.com:443", method: .CONNECT)).refusal?.status == 400)
        #expect(decided == 0)
    }

    @Test func aNameDeniedByPolicyIsRefusedWithItsRule() throws {
        let rule = PolicyDecision(.deny, .rule(PolicyRule(.deny, "example.com")))
        var machine = Self.machine { host, port in
            .failure(GatewaySession.Refusal(status: 403, reason: "\(host):\(port) is refused", decision: rule))
        }
        let refused = try #require(machine.requestHead(Self.head("http://example.com/")).refusal)
        #expect(refused.status == 403 && refused.reason == "example.com:80 is refused")
        #expect(refused.record.first?.rule == rule.description && refused.record.first?.decision == "deny")
    }

    // MARK: Ask, and the upstream failing

    @Test func askApprovedDialsAndAskDeniedRefuses() throws {
        var approved = Self.machine()
        _ = approved.requestHead(Self.head("http://example.com/"))
        let route = try Self.route()
        guard case .dial(0, let to, tls: false) = approved.policyDecided(0, .success(route)) else {
            Issue.record("an approved request is dialled")
            return
        }
        #expect(to.address == route.address)

        var denied = Self.machine()
        _ = denied.requestHead(Self.head("http://example.com/"))
        let asked = PolicyDecision(.ask, .rule(PolicyRule(.ask, "example.com")))
        let refused = try #require(
            denied.policyDecided(
                0, .failure(.init(status: 403, reason: "example.com:80 was not approved", decision: asked))
            ).refusal)
        #expect(refused.status == 403 && refused.record.count == 1)
        #expect(refused.record[0].decision == "deny" && refused.record[0].rule == asked.description)
        // A late answer for a connection already refused changes nothing.
        #expect(denied.policyDecided(0, .success(route)).isNone)
        #expect(denied.upstreamConnected(0).closesUpstream == 0)
    }

    @Test func theUpstreamFailingIsA502OrACutConnection() throws {
        var unreachable = Self.machine()
        _ = unreachable.requestHead(Self.head("http://example.com/"))
        _ = unreachable.policyDecided(0, .success(try Self.route()))
        let failed = try #require(unreachable.upstreamConnectFailed(0, .connect("connection refused")).refusal)
        #expect(failed.status == 502 && failed.reason.contains("cannot connect to example.com:80 (93.184.216.34)"))
        #expect(failed.record.first?.decision == "allow")

        var closedEarly = Self.machine()
        try Self.connected(&closedEarly)
        let early = try #require(closedEarly.upstreamClosed(0, error: "reset").refusal)
        #expect(early.status == 502 && early.reason == "the upstream example.com:80 failed: reset")

        var closedMidway = Self.machine()
        try Self.connected(&closedMidway)
        let head = HTTPResponseHead(version: .http1_1, status: .ok)
        _ = closedMidway.upstreamResponse(.head(head), from: 0)
        let cut = try #require(closedMidway.upstreamClosed(0, error: nil).closed)
        #expect(cut.first?.reason == "the upstream closed the connection mid-response")
        #expect(cut.first?.status == 200)
        #expect(closedMidway.stateName == "closed")
    }

    @Test func anIdleUpstreamClosingIsRedialledForTheNextRequest() throws {
        var machine = Self.machine()
        try Self.connected(&machine)
        _ = Self.respond(&machine)
        #expect(machine.upstreamClosed(0, error: nil).isNone)
        #expect(machine.requestHead(Self.head("http://example.com/again")).started?.next.authorizes == 1)
    }

    // MARK: The client leaving

    @Test func theClientClosingMidBodyRecordsTheRequestAndIgnoresTheRest() throws {
        var machine = Self.machine()
        _ = machine.requestHead(Self.head("http://example.com/upload", headers: [("Content-Length", "10")]))
        _ = machine.requestBody(ByteBuffer(string: "12345"))
        let record = try #require(machine.channelInactive().recorded)
        #expect(record.count == 1)
        #expect(record[0].reason == "the client closed the connection" && record[0].bytesUp == 5)
        #expect(machine.requestBody(ByteBuffer(string: "67890")).isNone)
        #expect(machine.requestEnd(nil).isNone)
        #expect(machine.policyDecided(0, .success(try Self.route())).isNone)
        #expect(machine.upstreamConnected(0).closesUpstream == 0)
        #expect(machine.channelInactive().isNone)
    }

    @Test func theClientClosingMidResponseIsRecordedToo() throws {
        var machine = Self.machine()
        try Self.connected(&machine)
        _ = machine.upstreamResponse(.head(HTTPResponseHead(version: .http1_1, status: .ok)), from: 0)
        let record = try #require(machine.channelInactive().recorded)
        #expect(record.first?.reason == "the client closed the connection mid-response")
    }

    // MARK: CONNECT

    @Test func connectAllowedDialsATunnelAndHandsOver() throws {
        var machine = Self.machine()
        guard
            case .authorizeConnect("example.com", 443, nil) = machine.requestHead(
                Self.head("example.com:443", method: .CONNECT))
        else {
            Issue.record("a CONNECT is decided first")
            return
        }
        #expect(machine.requestEnd(nil).isNone)
        let route = try Self.route(port: 443)
        guard case .dialTunnel(_, let event) = machine.connectDecided(.success(route)) else {
            Issue.record("a host without a secret is tunnelled")
            return
        }
        #expect(event.mode == "tunnel" && event.address == "93.184.216.34" && event.method == "CONNECT")
        guard case .switchToTunnel(_, let handed) = machine.tunnelConnected() else {
            Issue.record("the tunnel takes over once connected")
            return
        }
        #expect(handed.rule == Self.allowed.description)
        #expect(machine.stateName == "handingOver")
        #expect(machine.switchFailed("pipeline gone").closed?.first?.reason?.contains("pipeline gone") == true)
    }

    @Test func connectToAHostWithASecretIsIntercepted() throws {
        let secret = try GatewaySecret(
            name: "K", value: "value-123", placeholder: "PADDOCK-PLACEHOLDER-0123456789abcdef", hosts: ["example.com"])
        var machine = Self.machine(secrets: [secret])
        _ = machine.requestHead(Self.head("example.com:443", method: .CONNECT))
        let route = try Self.route(port: 443)
        guard case .prepareIntercept = machine.connectDecided(.success(route)) else {
            Issue.record("a host with a secret is intercepted")
            return
        }
        guard case .switchToIntercept(_, let event) = machine.interceptReady() else {
            Issue.record("interception takes over once its TLS context is ready")
            return
        }
        #expect(event.mode == "intercept")

        var failing = Self.machine(secrets: [secret])
        _ = failing.requestHead(Self.head("example.com:443", method: .CONNECT))
        _ = failing.connectDecided(.success(route))
        let refused = try #require(failing.interceptFailed("no key").refusal)
        #expect(refused.status == 502 && refused.reason.contains("could not issue a certificate for example.com"))
    }

    @Test func connectDeniedOrMalformedIsRefused() throws {
        var denied = Self.machine()
        _ = denied.requestHead(Self.head("example.com:443", method: .CONNECT))
        let refused = try #require(
            denied.connectDecided(.failure(.init(status: 403, reason: "no policy", decision: nil))).refusal)
        #expect(refused.status == 403 && refused.record.first?.decision == "deny")
        #expect(refused.record.first?.method == "CONNECT")

        var malformed = Self.machine()
        let bad = try #require(malformed.requestHead(Self.head("example.com", method: .CONNECT)).refusal)
        #expect(bad.status == 400 && bad.reason.contains("host:port"))

        var unreachable = Self.machine()
        _ = unreachable.requestHead(Self.head("example.com:443", method: .CONNECT))
        _ = unreachable.connectDecided(.success(try Self.route(port: 443)))
        #expect(unreachable.tunnelConnectFailed(.connect("timed out")).refusal?.status == 502)
    }

    @Test func aConnectAfterAKeepAliveRequestLetsTheIdleUpstreamGo() throws {
        var machine = Self.machine()
        try Self.connected(&machine)
        _ = Self.respond(&machine)
        guard
            case .authorizeConnect(_, _, closeUpstream: 0) = machine.requestHead(
                Self.head("example.com:443", method: .CONNECT))
        else {
            Issue.record("the idle upstream is let go")
            return
        }
        // A CONNECT behind a response still arriving is refused.
        var busy = Self.machine()
        try Self.connected(&busy)
        let refused = try #require(busy.requestHead(Self.head("example.com:443", method: .CONNECT)).refusal)
        #expect(refused.status == 400 && refused.record.count == 2)
    }

    @Test func theClientLeavingDuringACONNECTRecordsTheOutcome() throws {
        var deciding = Self.machine()
        _ = deciding.requestHead(Self.head("example.com:443", method: .CONNECT))
        #expect(deciding.channelInactive().isNone)
        let record = try #require(deciding.connectDecided(.success(try Self.route(port: 443))).recorded)
        #expect(record.first?.reason == "the client closed the connection")

        var refusedLate = Self.machine()
        _ = refusedLate.requestHead(Self.head("example.com:443", method: .CONNECT))
        _ = refusedLate.channelInactive()
        let denied = try #require(
            refusedLate.connectDecided(.failure(.init(status: 403, reason: "denied", decision: nil))).recorded)
        #expect(denied.first?.status == 403 && denied.first?.decision == "deny")

        var dialling = Self.machine()
        _ = dialling.requestHead(Self.head("example.com:443", method: .CONNECT))
        _ = dialling.connectDecided(.success(try Self.route(port: 443)))
        _ = dialling.channelInactive()
        guard case .closeTunnel(let events) = dialling.tunnelConnected() else {
            Issue.record("a tunnel connected after the client left is closed")
            return
        }
        #expect(events.first?.reason == "the client closed the connection")
    }

    @Test func theTLSServerNameMustBeTheConnectHost() throws {
        let route = try Self.route(port: 443)
        #expect(Machine.serverNameProblem(.hostname("Example.COM."), route: route) == nil)
        #expect(Machine.serverNameProblem(.hostname("evil.example"), route: route)?.contains("evil.example") == true)
        #expect(Machine.serverNameProblem(.fallback, route: route) != nil)
        let literal = try Self.route("93.184.216.34", port: 443)
        #expect(Machine.serverNameProblem(.fallback, route: literal) == nil)
    }

    // MARK: Secrets

    @Test func headerPlaceholdersAreSwappedOnlyWhereTheSecretMayGo() throws {
        let placeholder = "PADDOCK-PLACEHOLDER-0123456789abcdef"
        let secret = try GatewaySecret(name: "K", value: "value-123", placeholder: placeholder, hosts: ["example.com"])
        var intercepted = Self.machine(.intercepted(try Self.route(port: 443)), secrets: [secret])
        let start = try #require(
            intercepted.requestHead(
                Self.head("/v1?key=\(placeholder)", headers: [("Authorization", "Bearer \(placeholder)")])
            ).started)
        guard case .dial(0, _, tls: true) = start.next else {
            Issue.record("inside an interception the route is decided: dialled at once, over TLS")
            return
        }
        #expect(intercepted.requestEnd(nil).isNone)
        let parts = try #require(intercepted.upstreamConnected(0).forwardedAll)
        guard case .head(let head) = parts.first else {
            Issue.record("the head goes first")
            return
        }
        #expect(head.headers["authorization"] == ["Bearer value-123"])
        #expect(head.uri == "/v1?key=value-123")
        #expect(head.headers["host"] == ["example.com"])
        let event = try #require(Self.respond(&intercepted).ended?.record.first)
        #expect(event.secretsInjected == ["K"] && event.path == "/v1?…")

        // Over plain HTTP, or to another host: refused, and recorded as misuse.
        var plain = Self.machine(secrets: [secret])
        let overHTTP = try #require(
            plain.requestHead(Self.head("http://example.com/", headers: [("X-Key", placeholder)])).refusal)
        #expect(overHTTP.status == 403 && overHTTP.reason.contains("only sent over TLS"))
        #expect(overHTTP.record.first?.placeholderMisuse == ["K"])
        var elsewhere = Self.machine(secrets: [secret])
        let other = try #require(
            elsewhere.requestHead(Self.head("http://other.example/", headers: [("X-Key", placeholder)])).refusal)
        #expect(other.reason.contains("may only be sent to"))
    }

    @Test func aBodyWithAnInBodySecretIsHeldSwappedAndSentWithItsLength() throws {
        let placeholder = "PADDOCK-PLACEHOLDER-0123456789abcdef"
        let secret = try GatewaySecret(
            name: "B", value: "v", placeholder: placeholder, hosts: ["example.com"], inBody: true)
        var machine = Self.machine(.intercepted(try Self.route(port: 443)), secrets: [secret])
        let start = try #require(
            machine.requestHead(
                Self.head(
                    "/echo", method: .POST, headers: [("Transfer-Encoding", "chunked"), ("Expect", "100-continue")])
            ).started)
        #expect(start.sendContinue)
        // Connected before the body is complete: nothing goes until it is.
        #expect(machine.upstreamConnected(0).forwardedAll?.isEmpty == true)
        #expect(machine.requestBody(ByteBuffer(string: "key=")).isNone)
        #expect(machine.requestBody(ByteBuffer(string: placeholder)).isNone)
        let parts = try #require(machine.requestEnd(HTTPHeaders([("X-Trailer", "1")])).forwardedAll)
        #expect(parts.count == 3)
        guard case .head(let head) = parts[0], case .body(.byteBuffer(let body)) = parts[1], case .end(nil) = parts[2]
        else {
            Issue.record("head, swapped body, end without trailers: \(parts)")
            return
        }
        #expect(String(buffer: body) == "key=v")
        #expect(head.headers["content-length"] == ["5"])
        #expect(head.headers["transfer-encoding"].isEmpty && head.headers["expect"].isEmpty)
        let event = try #require(Self.respond(&machine).ended?.record.first)
        #expect(event.secretsInjected == ["B"] && event.bytesUp == 4 + placeholder.utf8.count)
    }

    @Test func bodiesTooLargeToSwapAreRefused() throws {
        let secret = try GatewaySecret(
            name: "B", value: "v", placeholder: "PADDOCK-PLACEHOLDER-0123456789abcdef", hosts: ["example.com"],
            inBody: true)
        var declared = Self.machine(.intercepted(try Self.route(port: 443)), secrets: [secret])
        let refused = try #require(
            declared.requestHead(
                Self.head("/", method: .POST, headers: [("Content-Length", "\(GatewaySecret.maxSwappedBody + 1)")])
            ).refusal)
        #expect(refused.status == 413 && refused.reason.contains("MiB"))

        var streamed = Self.machine(.intercepted(try Self.route(port: 443)), secrets: [secret])
        _ = streamed.requestHead(Self.head("/", method: .POST, headers: [("Transfer-Encoding", "chunked")]))
        #expect(streamed.requestBody(ByteBuffer(repeating: 0x61, count: GatewaySecret.maxSwappedBody)).isNone)
        let late = try #require(streamed.requestBody(ByteBuffer(string: "x")).refusal)
        #expect(late.status == 413 && late.record.count == 1)
        #expect(streamed.requestBody(ByteBuffer(string: "x")).isNone)
    }

    @Test func aPlaceholderInAStreamedBodyIsForwardedButRecordedAsMisuse() throws {
        let placeholder = "PADDOCK-PLACEHOLDER-0123456789abcdef"
        let secret = try GatewaySecret(name: "H", value: "v", placeholder: placeholder, hosts: ["example.com"])
        var machine = Self.machine(.intercepted(try Self.route(port: 443)), secrets: [secret])
        _ = machine.requestHead(Self.head("/", method: .POST, headers: [("Content-Length", "40")]))
        _ = machine.upstreamConnected(0)
        let forwarded = try #require(machine.requestBody(ByteBuffer(string: placeholder)).forwardedPart)
        #expect(!forwarded.flush)
        _ = machine.requestEnd(nil)
        let event = try #require(Self.respond(&machine).ended?.record.first)
        #expect(event.placeholderMisuse == ["H"] && event.secretsInjected.isEmpty)
    }

    // MARK: Input the protocol does not allow

    @Test func aSecondHeadWhileABodyIsArrivingIsRefused() throws {
        var machine = Self.machine()
        _ = machine.requestHead(Self.head("http://example.com/", method: .POST, headers: [("Content-Length", "10")]))
        let refused = try #require(machine.requestHead(Self.head("http://example.com/")).refusal)
        #expect(refused.status == 400 && refused.reason.contains("before the previous request's body ended"))
        #expect(refused.record.count == 2)
        #expect(machine.stateName == "closed")
        // Everything after is ignored, including late answers for the upstream it had started.
        #expect(machine.requestBody(ByteBuffer(string: "late")).isNone)
        #expect(machine.requestEnd(nil).isNone)
        #expect(machine.policyDecided(0, .success(try Self.route())).isNone)
        #expect(machine.upstreamConnectFailed(0, .connect("x")).isNone)
    }

    @Test func bodyOrEndWithoutARequestIsRefused() throws {
        var body = Self.machine()
        #expect(body.requestBody(ByteBuffer(string: "x")).refusal?.status == 400)
        var end = Self.machine()
        #expect(end.requestEnd(nil).refusal?.status == 400)
        // A request after its body ended is fine; a second end is not.
        var twice = Self.machine()
        try Self.connected(&twice)
        #expect(twice.requestEnd(nil).refusal?.status == 400)
    }

    @Test func aRequestBehindAnUnansweredConnectIsRefused() throws {
        var machine = Self.machine()
        _ = machine.requestHead(Self.head("example.com:443", method: .CONNECT))
        let refused = try #require(machine.requestHead(Self.head("http://example.com/")).refusal)
        #expect(refused.status == 400 && refused.record.count == 2)
        #expect(refused.record[1].method == "CONNECT")
        // The decision arriving afterwards is dropped.
        #expect(machine.connectDecided(.success(try Self.route(port: 443))).isNone)
        guard case .closeTunnel(let events) = machine.tunnelConnected() else {
            Issue.record("a tunnel nobody waits for is closed")
            return
        }
        #expect(events.isEmpty)
    }

    @Test func unexpectedUpstreamInputIsDroppedOrClosed() throws {
        var machine = Self.machine()
        try Self.connected(&machine)
        _ = Self.respond(&machine)
        // Nothing in flight: an answer nobody asked for closes that connection.
        #expect(machine.upstreamResponse(.end(nil), from: 0).closesUpstream == 0)
        // From a connection that is not this one: dropped.
        #expect(machine.upstreamResponse(.end(nil), from: 7).isNone)
        #expect(machine.upstreamClosed(7, error: nil).isNone)
        #expect(machine.upstreamConnected(7).closesUpstream == 7)
        // Events for a CONNECT that is not under way change nothing.
        #expect(machine.connectDecided(.success(try Self.route())).isNone)
        #expect(machine.interceptReady().isNone)
        #expect(machine.interceptFailed("x").isNone)
        #expect(machine.tunnelConnectFailed(.connect("x")).isNone)
        #expect(machine.switchFailed("x").isNone)
        #expect(machine.stateName == "idle")
    }
}

// MARK: Reading actions

extension ProxyFrontStateMachine.Action {
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }
    var started: (closeUpstream: Int?, sendContinue: Bool, next: Next)? {
        if case .startRequest(let closeUpstream, let sendContinue, let next) = self {
            return (closeUpstream, sendContinue, next)
        }
        return nil
    }
    var refusal: (status: Int, reason: String, record: [GatewayAuditEvent])? {
        if case .refuse(let status, let reason, let record) = self { return (status, reason, record) }
        return nil
    }
    var ended: (trailers: HTTPHeaders?, record: [GatewayAuditEvent], close: Bool)? {
        if case .endResponse(let trailers, let record, let close) = self { return (trailers, record, close) }
        return nil
    }
    var recorded: [GatewayAuditEvent]? {
        if case .record(let events) = self { return events }
        return nil
    }
    var closed: [GatewayAuditEvent]? {
        if case .close(let events) = self { return events }
        return nil
    }
    var forwardedAll: [HTTPClientRequestPart]? {
        if case .forwardAll(let parts) = self { return parts }
        return nil
    }
    var forwardedPart: (part: HTTPClientRequestPart, flush: Bool)? {
        if case .forward(let part, let flush) = self { return (part, flush) }
        return nil
    }
    var dials: Int? {
        if case .dial(let id, _, _) = self { return id }
        return nil
    }
    var responds: Bool {
        if case .respond = self { return true }
        return false
    }
    var closesUpstream: Int? {
        if case .closeUpstream(let id) = self { return id }
        return nil
    }
}

extension ProxyFrontStateMachine.Action.Next {
    var authorizes: Int? {
        if case .authorize(let id, _, _) = self { return id }
        return nil
    }
    var forwards: Bool {
        if case .forward = self { return true }
        return false
    }
}
