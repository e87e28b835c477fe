import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import PaddockCore
import PaddockGateway
import PaddockObservability

/// The `metrics` group. `paddock.gateway_request.metered` against `paddock.gateway_request.unmetered`: the same
/// streamed, Anthropic-shaped answer (about 4 KB of server-sent events) through an intercepting gateway, once at
/// `/v1/messages` (read by the meter) and once at a path the meter ignores. `paddock.metrics_render`: one
/// `/metrics` answer with 500 running sessions' series (their five resource gauges updated, then the whole
/// registry rendered), in a registry of its own.
struct MetricsBenchmark {
    let iterations: Int

    static let answer: String = {
        var text =
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"model\":"
            + "\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":1200,\"cache_read_input_tokens\":300,"
            + "\"cache_creation_input_tokens\":100,\"output_tokens\":1}}}\n\n"
        for i in 0..<40 {
            text +=
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                + "{\"type\":\"text_delta\",\"text\":\"part \(i) of a model's answer, streamed\"}}\n\n"
        }
        text +=
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
            + "\"usage\":{\"output_tokens\":420}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        return text
    }()

    func run() async throws -> [Benchmarks.Result] {
        var results = try await gateway()
        results.append(render())
        return results
    }

    private func gateway() async throws -> [Benchmarks.Result] {
        let body = Self.answer
        let upstream = try await LoopbackUpstream.start { router in
            for path in ["/model/v1/messages", "/unmetered/messages"] {
                router.post(RouterPath(path)) { request, _ -> Response in
                    _ = try await request.body.collect(upTo: 1 << 20)
                    return Response(
                        status: .ok, headers: [.contentType: "text/event-stream"],
                        body: .init(byteBuffer: ByteBuffer(string: body)))
                }
            }
        }
        defer { Task { await upstream.stop() } }
        var logger = Logger(label: "paddock.bench.metrics")
        logger.logLevel = .error
        let bench = try BenchGateway(upstream: upstream, label: "metrics", logger: logger)
        let (gateway, placeholder) = (bench.gateway, bench.placeholder)
        defer { bench.removeDirectory(logger: logger) }
        let id = SessionID.random()
        let session = try gateway.openSession(id, secrets: [bench.secret], policy: bench.policy)
        let port = try await gateway.listen(id)
        let client = GatewayBenchmark.client(trusting: try session.authority.trustRoot(), proxyPort: port)
        var samples: [[Double]] = [[], []]
        do {
            let urls = ["\(upstream.baseURL)/model/v1/messages", "\(upstream.baseURL)/unmetered/messages"]
            for url in urls { _ = try await Self.post(client, url, key: placeholder) }
            // Interleaved, so drift on a shared host hits both alike.
            for _ in 0..<max(iterations * 10, 50) {
                for (index, url) in urls.enumerated() {
                    samples[index].append(
                        try await Benchmarks.milliseconds { _ = try await Self.post(client, url, key: placeholder) })
                }
            }
        } catch {
            // The benchmark's own error is the one to report; a client that also fails to close is only logged.
            do { try await client.shutdown() } catch {
                logger.error("could not close the benchmark's HTTP client", metadata: ["error": "\(error)"])
            }
            await gateway.shutdown()
            throw error
        }
        try await client.shutdown()
        // Before the audit directory goes: the gateway flushes its last events there.
        await gateway.shutdown()
        return [
            Benchmarks.summarize(
                "paddock.gateway_request.metered", unit: "ms", samples[0],
                note: "streamed 4 KB Anthropic-shaped answer, intercepted, usage read by the meter"),
            Benchmarks.summarize(
                "paddock.gateway_request.unmetered", unit: "ms", samples[1],
                note: "same answer at a path the meter ignores"),
        ]
    }

    static func post(_ client: HTTPClient, _ url: String, key: String) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "x-api-key", value: key)
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"model":"claude-sonnet-4-5","stream":true,"messages":[]}"#))
        let response = try await client.execute(request, timeout: .seconds(60))
        guard response.status == .ok else {
            throw PaddockError.internal("\(url) answered \(response.status) during the benchmark")
        }
        var size = 0
        for try await chunk in response.body { size += chunk.readableBytes }
        return size
    }

    /// 500 sessions' resource gauges set and the registry rendered, as one scrape does (without the cgroup reads,
    /// which the provider's own benchmarks cover).
    private func render() -> Benchmarks.Result {
        let exporter = PrometheusExporter()
        let factory = exporter.factory()
        let names = [
            "paddock_session_cpu_seconds_total", "paddock_session_memory_bytes", "paddock_session_memory_limit_bytes",
            "paddock_session_disk_bytes", "paddock_session_network_bytes_total",
        ]
        let sessions = (0..<500).map { _ in SessionID.random().rawValue }
        var samples: [Double] = []
        var size = 0
        for round in 0..<max(iterations * 5, 30) {
            let start = ContinuousClock.now
            for name in names {
                for (i, id) in sessions.enumerated() {
                    factory.makeMeter(label: name, dimensions: [("session_id", id), ("team", "team\(i % 10)")])
                        .set(Double(round * i))
                }
            }
            size = exporter.render().count
            let d = ContinuousClock.now - start
            samples.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
        }
        return Benchmarks.summarize(
            "paddock.metrics_render", unit: "ms", samples,
            note: "/metrics with 500 running sessions' resource series (5 gauges each, \(size >> 10) KiB)")
    }
}
