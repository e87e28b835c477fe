import CoreMetrics
import Prometheus

/// The Prometheus backend of swift-metrics: bootstrapped once per process by `paddock server --metrics-listen`,
/// rendered in the text exposition format for each scrape.
public final class PrometheusExporter: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// Start and exec latencies span milliseconds (a warm claim) to a minute (a cold start on a loaded host).
    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
        .seconds(10), .seconds(30), .seconds(60),
    ]
    /// Store operations are sub-millisecond when the database is healthy; the tail is what an alert watches.
    static let storeBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(5),
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1),
    ]
    /// Approvals wait for a person: seconds to the approval timeout.
    static let approvalBuckets: [Duration] = [
        .seconds(1), .seconds(5), .seconds(15), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
        .seconds(600), .seconds(1800),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// The factory this exporter's registry backs; `MetricsSystem.bootstrap` takes it (once per process).
    public func factory() -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        factory.durationHistogramBuckets = [
            "paddock_store_operation_seconds": Self.storeBuckets,
            "paddock_approval_wait_seconds": Self.approvalBuckets,
        ]
        factory.defaultValueHistogramBuckets = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000]
        return factory
    }

    /// Makes this exporter the process's metrics backend. Call once, before anything is measured.
    public func bootstrap() {
        MetricsSystem.bootstrap(factory())
    }

    /// The text exposition format of everything measured so far.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }
}
