import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import PaddockCore
import PaddockGateway
import PaddockHost

/// A gateway on a loopback TCP port for one session, an audit directory, and clients that go through it.
/// `close()` stops everything it started.
struct GatewayHarness {
    let gateway: EgressGateway
    let session: GatewaySession
    let audit: JSONLinesAuditSink
    let port: Int
    let directory: String

    static func make(
        policy: NetworkPolicy?, secrets: [GatewaySecret] = [], trust: [NIOSSLCertificate] = []
    ) async throws -> GatewayHarness {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "paddock-gateway-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        ).path
        let audit = try JSONLinesAuditSink(directory: directory)
        var logger = Logger(label: "test.gateway")
        logger.logLevel = .critical
        let gateway = try EgressGateway(auditSink: audit, extraTrustRoots: trust, logger: logger)
        let id = SessionID.random()
        let session = try gateway.openSession(id, secrets: secrets, policy: policy)
        let port = try await gateway.listen(id)
        return GatewayHarness(gateway: gateway, session: session, audit: audit, port: port, directory: directory)
    }

    func close() async {
        await gateway.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// An HTTP client that uses the gateway as its proxy and trusts `roots` (the session CA for intercepted
    /// hosts, the upstream's CA for tunnelled ones).
    func client(trusting roots: [NIOSSLCertificate]) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(roots)
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.proxy = .server(host: "127.0.0.1", port: port)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Runs `body` with a client (see `client(trusting:)`) and always shuts the client down.
    func with<T>(trusting roots: [NIOSSLCertificate], _ body: (HTTPClient) async throws -> T) async throws -> T {
        let client = client(trusting: roots)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// A plain-HTTP request through the gateway with curl (absolute-form, as every proxy client sends it).
    func curl(_ url: String, headers: [(String, String)] = []) async throws -> Fetched {
        var arguments = ["-s", "-i", "--max-time", "15", "--proxy", "http://127.0.0.1:\(port)", url]
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        let result = try await runProcess("/usr/bin/curl", arguments)
        let text = result.output.replacingOccurrences(of: "\r\n", with: "\n")
        guard let split = text.range(of: "\n\n") else { return Fetched(status: 0, reason: nil, body: text) }
        let head = text[..<split.lowerBound].split(separator: "\n")
        let status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        let reason = head.first { $0.lowercased().hasPrefix("x-paddock-reason:") }
            .map { String($0.dropFirst("x-paddock-reason:".count)).trimmingCharacters(in: .whitespaces) }
        return Fetched(status: status, reason: reason, body: String(text[split.upperBound...]))
    }

    /// The audit events so far, waiting briefly for `count` of them (they are written asynchronously).
    func events(atLeast count: Int = 1) async -> [GatewayAuditEvent] {
        for _ in 0..<100 {
            let events = audit.events(for: session.id.rawValue)
            if events.count >= count { return events }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return audit.events(for: session.id.rawValue)
    }
}

struct Fetched {
    let status: Int
    let reason: String?
    let body: String
}

extension HTTPClient {
    func fetch(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = []) async throws -> Fetched {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await execute(request, timeout: .seconds(20))
        let body = try await response.body.collect(upTo: 64 << 20)
        return Fetched(
            status: Int(response.status.code), reason: response.headers.first(name: "X-Paddock-Reason"),
            body: String(buffer: body))
    }
}

/// One policy layer from lists, as a session's `--allow`/`--deny` would give.
func policy(allow: [String] = [], deny: [String] = [], ask: [String] = [], default action: PolicyAction? = nil) throws
    -> NetworkPolicy
{
    try NetworkPolicy(
        PolicyRuleSet(default: action, allow: allow, ask: ask, deny: deny, origin: RuleOrigin(layer: "session")))
}
