import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import PaddockCore
import PaddockGateway

/// `paddock.gateway_request` against `direct.gateway_request`: a 10 KB HTTPS GET from a keep-alive client to a
/// loopback HTTPS upstream, directly and through the egress gateway (tunnelled, and intercepted with a secret
/// swapped into a header), plus a 100 MB download's throughput both ways. The client runs on the host and
/// talks to the gateway over TCP; in a sandbox, paddock-init's relay adds one more loopback hop.
struct GatewayBenchmark {
    let iterations: Int

    func run() async throws -> [Benchmarks.Result] {
        let upstream = try await LoopbackUpstream.start()
        defer { Task { await upstream.stop() } }
        var logger = Logger(label: "paddock.bench.gateway")
        logger.logLevel = .error
        let bench = try BenchGateway(upstream: upstream, label: "gateway", logger: logger)
        let (gateway, policy, placeholder) = (bench.gateway, bench.policy, bench.placeholder)
        defer { bench.removeDirectory(logger: logger) }
        let tunnelID = SessionID.random()
        let interceptID = SessionID.random()
        try gateway.openSession(tunnelID, policy: policy)
        let intercepted = try gateway.openSession(interceptID, secrets: [bench.secret], policy: policy)
        let tunnelPort = try await gateway.listen(tunnelID)
        let interceptPort = try await gateway.listen(interceptID)

        let direct = Self.client(trusting: try upstream.authority.trustRoot(), proxyPort: nil)
        let tunnel = Self.client(trusting: try upstream.authority.trustRoot(), proxyPort: tunnelPort)
        let intercept = Self.client(trusting: try intercepted.authority.trustRoot(), proxyPort: interceptPort)
        var results: [Benchmarks.Result] = []
        do {
            let url = "\(upstream.baseURL)/bytes/10240"
            let count = max(iterations * 10, 50)
            let header = [("Authorization", "Bearer \(placeholder)")]
            // Interleaved rounds, so drift on a shared host hits every variant alike.
            var samples: [[Double]] = [[], [], []]
            let clients = [direct, tunnel, intercept]
            for (index, client) in clients.enumerated() {
                _ = try await Benchmarks.get(client, url, headers: index == 2 ? header : [])
            }
            for _ in 0..<count {
                for (index, client) in clients.enumerated() {
                    samples[index].append(
                        try await Benchmarks.milliseconds {
                            _ = try await Benchmarks.get(client, url, headers: index == 2 ? header : [])
                        })
                }
            }
            results.append(
                Benchmarks.summarize(
                    "direct.gateway_request", unit: "ms", samples[0], note: "10 KB HTTPS GET, keep-alive"))
            results.append(
                Benchmarks.summarize(
                    "paddock.gateway_request", unit: "ms", samples[1], note: "same through the gateway, tunnelled"))
            results.append(
                Benchmarks.summarize(
                    "paddock.gateway_request.intercepted", unit: "ms", samples[2],
                    note: "same, TLS intercepted with a secret swapped into a header"))

            let big = "\(upstream.baseURL)/bytes/\(100 << 20)"
            var throughput: [[Double]] = [[], []]
            for _ in 0..<3 {
                for (index, client) in [direct, tunnel].enumerated() {
                    let ms = try await Benchmarks.milliseconds {
                        _ = try await Benchmarks.get(client, big, headers: [])
                    }
                    throughput[index].append(Double(100 << 20) / 1_000_000 / (ms / 1000))
                }
            }
            results.append(
                Benchmarks.summarize("direct.gateway_throughput", unit: "MB/s", throughput[0], note: "100 MB HTTPS GET")
            )
            results.append(
                Benchmarks.summarize(
                    "paddock.gateway_throughput", unit: "MB/s", throughput[1],
                    note: "same through the gateway, tunnelled"))
        } catch {
            for client in [direct, tunnel, intercept] { try? await client.shutdown() }
            await gateway.shutdown()
            throw error
        }
        // The gateway is shut down (its last events flushed) before the deferred removal of its audit directory.
        do {
            for client in [direct, tunnel, intercept] { try await client.shutdown() }
        } catch {
            await gateway.shutdown()
            throw error
        }
        await gateway.shutdown()
        return results
    }

    static func client(trusting root: NIOSSLCertificate, proxyPort: Int?) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([root])
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        if let proxyPort { configuration.proxy = .server(host: "127.0.0.1", port: proxyPort) }
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

}
