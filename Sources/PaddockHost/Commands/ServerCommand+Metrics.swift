import ArgumentParser
import Hummingbird
import Logging
import NIOCore
import PaddockObservability
import PaddockServices
import ServiceLifecycle

/// `paddock server --metrics-listen HOST:PORT`: Prometheus's `/metrics` on its own listener, off by default.
/// It has no authentication (Prometheus scrapes without credentials), so bind it to an address only the
/// monitoring network reaches; labels carry ids, teams, hosts and outcomes, never a secret or a prompt.
struct MetricsOptions: ParsableArguments {
    @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics (port 0 picks a free one; off by default).")
    var metricsListen: String?
    @Option(
        help: """
            Send OpenTelemetry traces (OTLP/HTTP, protobuf) to this collector base URL, such as \
            http://127.0.0.1:4318 (spans go to <URL>/v1/traces; off by default).
            """)
    var otlpEndpoint: String?

    /// The OTLP exporter bootstrapped as the process's tracer, as a service that sends and flushes; nil when off.
    func tracing(logger: Logger) throws -> (any Service)? {
        guard let otlpEndpoint else { return nil }
        do {
            return try PaddockTracing.bootstrap(endpoint: otlpEndpoint, logger: Logger(label: "paddock.tracing"))
        } catch let error as OTLPEndpointError {
            throw ValidationError(error.description)
        }
    }

    /// The exporter bootstrapped as the process's metrics backend, and the listener serving it; nil when off.
    func make(sessions: SessionService, dataDirectory: String, logger: Logger) throws -> (any Service)? {
        guard let metricsListen else { return nil }
        guard let colon = metricsListen.lastIndex(of: ":"),
            let port = Int(metricsListen[metricsListen.index(after: colon)...]), (0...65535).contains(port)
        else {
            throw ValidationError("--metrics-listen takes HOST:PORT, such as 127.0.0.1:9464")
        }
        let host = String(metricsListen[..<colon])
        let exporter = PrometheusExporter()
        exporter.bootstrap()
        let collector = MetricsCollector(sessions: sessions, logger: Logger(label: "paddock.metrics"))
        return Self.application(
            exporter: exporter, collector: collector, host: host, port: port,
            onServerRunning: { port in
                ServerCommand.announce("metrics", host: host, port: port, dataDirectory: dataDirectory, logger)
            })
    }

    static func application(
        exporter: PrometheusExporter, collector: MetricsCollector, host: String, port: Int,
        onServerRunning: @escaping @Sendable (Int) async -> Void
    ) -> some Service {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            await collector.collect()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: exporter.render())))
        }
        var logger = Logger(label: "paddock.metrics.http")
        logger.logLevel = .warning
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "paddock-metrics"),
            onServerRunning: { await onServerRunning($0.localAddress?.port ?? port) },
            logger: logger)
    }
}
