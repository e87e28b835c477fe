import Foundation
import Logging
import PaddockCore
import PaddockGateway

/// An egress gateway in front of a benchmark's loopback upstream: its audit in a temporary directory, traffic
/// to the upstream allowed, and one secret the upstream may receive, known to the benchmark by its placeholder.
struct BenchGateway {
    let gateway: EgressGateway
    /// Where its audit goes; the benchmark removes it after shutting the gateway down.
    let directory: String
    let policy: NetworkPolicy
    let placeholder: String
    let secret: GatewaySecret

    init(upstream: LoopbackUpstream, label: String, logger: Logger) throws {
        directory = NSTemporaryDirectory() + "paddock-bench-\(label)-\(getpid())"
        gateway = try EgressGateway(
            auditSink: try JSONLinesAuditSink(directory: directory),
            extraTrustRoots: [try upstream.authority.trustRoot()], logger: logger)
        policy = try NetworkPolicy(PolicyRuleSet(default: nil, allow: ["127.0.0.1:\(upstream.port)"]))
        let value = "sk-bench-\(UUID().uuidString)"
        placeholder = GatewaySecret.makePlaceholder(forValueOfLength: value.count)
        secret = try GatewaySecret(
            name: "BENCH_KEY", value: value, placeholder: placeholder, hosts: ["127.0.0.1:\(upstream.port)"])
    }

    /// Removes the audit directory, logging (not failing the benchmark) when it cannot.
    func removeDirectory(logger: Logger) {
        do { try FileManager.default.removeItem(atPath: directory) } catch {
            logger.error("could not remove the benchmark's audit directory", metadata: ["error": "\(error)"])
        }
    }
}
