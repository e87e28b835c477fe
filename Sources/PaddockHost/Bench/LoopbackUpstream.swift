import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import PaddockCore
import PaddockGateway

/// A real HTTPS server on 127.0.0.1 (ephemeral port) with its own CA, standing in for an API or a registry
/// in tests and benchmarks: `GET /bytes/N` returns N bytes, `GET /check` answers 200 only when every header
/// in `expectedHeaders` has exactly the expected value (401 naming the header otherwise, never a value).
public final class LoopbackUpstream: Sendable {
    public let authority: CertificateAuthority
    public let port: Int
    public let tls: Bool
    private let task: Task<Void, any Error>
    private let seen: SeenRequests

    /// Requests the server answered: method, path and header names (not values).
    public actor SeenRequests {
        public private(set) var requests: [(method: String, path: String, headerNames: [String])] = []
        func add(_ method: String, _ path: String, _ names: [String]) { requests.append((method, path, names)) }
        public var count: Int { requests.count }
    }

    public var requests: SeenRequests { seen }

    /// Starts serving; returns once the port is known. `hostNames` go into the certificate besides 127.0.0.1.
    public static func start(
        expectedHeaders: [String: String] = [:], hostNames: [String] = ["localhost"], tls: Bool = true,
        routes: (Router<BasicRequestContext>) -> Void = { _ in }
    ) async throws -> LoopbackUpstream {
        let authority = try CertificateAuthority(name: "Paddock loopback test CA")
        let seen = SeenRequests()
        let router = Router()
        router.get("/bytes/:count") { request, context -> Response in
            let count = context.parameters.get("count", as: Int.self) ?? 0
            await seen.add("GET", request.uri.path, request.headers.map { $0.name.canonicalName })
            let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: min(count, 1 << 16))
            return Response(
                status: .ok, headers: [.contentLength: String(count), .contentType: "application/octet-stream"],
                body: ResponseBody { writer in
                    var left = count
                    while left > 0 {
                        let n = min(left, chunk.readableBytes)
                        try await writer.write(chunk.getSlice(at: 0, length: n) ?? chunk)
                        left -= n
                    }
                    try await writer.finish(nil)
                })
        }
        let checker: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            await seen.add(request.method.rawValue, request.uri.path, request.headers.map { $0.name.canonicalName })
            for (name, value) in expectedHeaders.sorted(by: { $0.key < $1.key }) {
                guard let field = HTTPField.Name(name), request.headers[field] == value else {
                    return Response(
                        status: .unauthorized, headers: [.contentType: "text/plain"],
                        body: .init(byteBuffer: ByteBuffer(string: "header \(name) does not have the expected value\n"))
                    )
                }
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: "authorized\n")))
        }
        router.get("/check", use: checker)
        router.post("/check", use: checker)
        router.post("/v1/messages", use: checker)
        routes(router)
        // Stopping while a client keeps its connection open is logged as an error; it is not one here.
        let (port, task) = try await LoopbackServer.start(
            router: router, authority: authority, tlsNames: tls ? ["127.0.0.1"] + hostNames : nil,
            label: "loopback-upstream", logLevel: .critical)
        return LoopbackUpstream(authority: authority, port: port, tls: tls, task: task, seen: seen)
    }

    private init(authority: CertificateAuthority, port: Int, tls: Bool, task: Task<Void, any Error>, seen: SeenRequests)
    {
        self.authority = authority
        self.port = port
        self.tls = tls
        self.task = task
        self.seen = seen
    }

    public var baseURL: String { "\(tls ? "https" : "http")://127.0.0.1:\(port)" }

    /// Stops the server and waits until its port is closed.
    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}
