import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockGateway
import PaddockHost
import Testing

/// Secrets set with `--in-body`: their placeholders are swapped in request bodies too (buffered, the length
/// fixed), only on their own hosts; other secrets' placeholders in a body go unchanged and are audited.
@Suite(.serialized)
struct GatewayBodySwapTests {
    /// An upstream whose `/echo` answers with the length it was told, `|`, and the body it received.
    static func echoUpstream() async throws -> LoopbackUpstream {
        try await LoopbackUpstream.start { router in
            router.post("/echo") { request, _ -> Response in
                let declared = request.headers[.contentLength] ?? "none"
                var body = ByteBuffer(string: "\(declared)|")
                var received = try await request.body.collect(upTo: 16 << 20)
                body.writeBuffer(&received)
                return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: body))
            }
        }
    }

    static func split(_ answer: String) -> (declared: String, body: String) {
        guard let bar = answer.firstIndex(of: "|") else { return ("", answer) }
        return (String(answer[..<bar]), String(answer[answer.index(after: bar)...]))
    }

    @Test func placeholdersInBodiesAreSwappedOnlyForInBodySecrets() async throws {
        let upstream = try await Self.echoUpstream()
        let value = "sk-body-\(UUID().uuidString)"
        let other = "tok-head-\(UUID().uuidString)"
        let bodySecret = try GatewaySecret(
            name: "BODY_KEY", value: value, placeholder: GatewaySecret.makePlaceholder(forValueOfLength: 8),
            hosts: ["127.0.0.1:\(upstream.port)"], inBody: true)
        let headerSecret = try GatewaySecret(
            name: "HEADER_KEY", value: other, placeholder: GatewaySecret.makePlaceholder(forValueOfLength: other.count),
            hosts: ["127.0.0.1:\(upstream.port)"])
        let harness = try await GatewayHarness.make(
            policy: try policy(allow: ["127.0.0.1:\(upstream.port)"]), secrets: [bodySecret, headerSecret],
            trust: [try upstream.authority.trustRoot()])
        try await cleanup(harness, [upstream]) {
            try await harness.with(trusting: [try harness.session.authority.trustRoot()]) { client in
                // A JSON body with a known length: swapped, and the length follows the new size (the
                // placeholder is longer than this short value).
                let json = #"{"key": "\#(bodySecret.placeholder)", "other": "\#(headerSecret.placeholder)"}"#
                var request = HTTPClientRequest(url: "\(upstream.baseURL)/echo")
                request.method = .POST
                request.body = .bytes(ByteBuffer(string: json))
                let response = try await client.execute(request, timeout: .seconds(20))
                let answer = String(buffer: try await response.body.collect(upTo: 1 << 20))
                let (declared, echoed) = Self.split(answer)
                #expect(response.status == .ok)
                #expect(echoed.contains(#""key": "\#(value)""#), "\(echoed)")
                #expect(!echoed.contains(bodySecret.placeholder))
                // A secret without --in-body is not swapped in a body: its placeholder goes as written.
                #expect(echoed.contains(headerSecret.placeholder) && !echoed.contains(other))
                #expect(declared == String(echoed.utf8.count))

                // A streamed (chunked) body is buffered and swapped the same way.
                var chunked = HTTPClientRequest(url: "\(upstream.baseURL)/echo")
                chunked.method = .POST
                let parts = ["key=", bodySecret.placeholder, "&end=1"].map { ByteBuffer(string: $0) }
                let stream = AsyncStream<ByteBuffer> { continuation in
                    for part in parts { continuation.yield(part) }
                    continuation.finish()
                }
                chunked.body = .stream(stream, length: .unknown)
                let streamed = try await client.execute(chunked, timeout: .seconds(20))
                let (length, text) = Self.split(String(buffer: try await streamed.body.collect(upTo: 1 << 20)))
                #expect(text == "key=\(value)&end=1")
                #expect(length == String(text.utf8.count))

                // Bodies too large to buffer are refused before anything is sent.
                var large = HTTPClientRequest(url: "\(upstream.baseURL)/echo")
                large.method = .POST
                large.body = .bytes(ByteBuffer(repeating: 0x61, count: GatewaySecret.maxSwappedBody + 1))
                let refused = try await client.execute(large, timeout: .seconds(20))
                #expect(refused.status.code == 413)
                #expect(refused.headers.first(name: "X-Paddock-Reason")?.contains("MiB") == true)
            }
            let events = await harness.events(atLeast: 3)
            #expect(events.filter { $0.secretsInjected == ["BODY_KEY"] }.count == 2)
            #expect(events.contains { $0.placeholderMisuse == ["HEADER_KEY"] })
            #expect(events.contains { $0.status == 413 })
            #expect(await upstream.requests.count <= 2)
        }
    }

    @Test func anInBodySecretIsNotSwappedForOtherHosts() async throws {
        let upstream = try await Self.echoUpstream()
        let value = "sk-body-\(UUID().uuidString)"
        let secret = try GatewaySecret(
            name: "BODY_KEY", value: value, placeholder: GatewaySecret.makePlaceholder(forValueOfLength: value.count),
            hosts: ["api.example.com"], allowHTTP: true, inBody: true)
        let harness = try await GatewayHarness.make(
            policy: try policy(allow: ["127.0.0.1:\(upstream.port)"]), secrets: [secret],
            trust: [try upstream.authority.trustRoot()])
        try await cleanup(harness, [upstream]) {
            // Not the secret's host, so not intercepted: the client tunnels to the upstream's own certificate.
            try await harness.with(trusting: [try upstream.authority.trustRoot()]) { client in
                var request = HTTPClientRequest(url: "\(upstream.baseURL)/echo")
                request.method = .POST
                request.body = .bytes(ByteBuffer(string: "key=\(secret.placeholder)"))
                let response = try await client.execute(request, timeout: .seconds(20))
                let (_, echoed) = Self.split(String(buffer: try await response.body.collect(upTo: 1 << 20)))
                #expect(echoed == "key=\(secret.placeholder)")
            }
        }
    }
}
