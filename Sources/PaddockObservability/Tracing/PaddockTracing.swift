import Foundation
import Logging
import OTel
import ServiceLifecycle
import Synchronization
import Tracing

/// OpenTelemetry traces: `paddock server --otlp-endpoint URL` bootstraps swift-otel's tracer (OTLP/HTTP with
/// protobuf bodies) as the process's tracer, and every span the services start goes there. Without it the
/// tracer is swift-distributed-tracing's no-op one, so the spans cost next to nothing.
///
/// Span attributes carry ids, teams, hosts, outcomes and sizes — never a command line, an environment value, a
/// prompt, a header or a query string, so no secret can reach a trace backend through them.
public enum PaddockTracing {
    /// The attribute names every Paddock span uses for what it belongs to.
    public static let sessionID = "paddock.session.id"
    public static let runID = "paddock.run.id"
    public static let team = "paddock.team"

    private static let bootstrapped = Atomic<Bool>(false)

    /// Whether a tracer was bootstrapped: spans built from data that costs something to gather (the gateway's,
    /// recorded after the fact) are only made then.
    public static var isEnabled: Bool { bootstrapped.load(ordering: .relaxed) }

    /// Makes an OTLP/HTTP exporter to `endpoint` (the collector's base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT`:
    /// spans go to `<endpoint>/v1/traces`) the process's tracer. Call once, before anything is traced; run the
    /// returned service in the server's service group (it batches and sends, and flushes at shutdown). The
    /// `OTEL_*` environment variables of the OpenTelemetry specification still apply (sampler, batch delay…).
    public static func bootstrap(endpoint: String, logger: Logger) throws -> any Service {
        guard let url = URL(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme),
            url.host != nil
        else {
            throw OTLPEndpointError(endpoint: endpoint)
        }
        var base = endpoint
        while base.hasSuffix("/") { base.removeLast() }
        var configuration = OTel.Configuration.default
        configuration.serviceName = "paddock"
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.propagators = [.traceContext]
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.otlpExporter.endpoint = base + "/v1/traces"
        // A span shows up within a second or two: an operator watching a run live should not wait five.
        configuration.traces.batchSpanProcessor.scheduleDelay = .seconds(1)
        let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(tracer)
        bootstrapped.store(true, ordering: .relaxed)
        return service
    }

    /// Sets what a span belongs to; nil values are left out.
    public static func tag(_ span: any Span, session: String? = nil, run: String? = nil, team: String? = nil) {
        guard span.isRecording else { return }
        span.updateAttributes { attributes in
            if let session { attributes[sessionID] = session }
            if let run { attributes[runID] = run }
            if let team, !team.isEmpty { attributes[Self.team] = team }
        }
    }
}

/// `--otlp-endpoint` was not an http(s) URL.
public struct OTLPEndpointError: Error, CustomStringConvertible {
    public let endpoint: String
    public var description: String {
        "--otlp-endpoint takes the collector's http:// or https:// base URL, such as http://127.0.0.1:4318, "
            + "not '\(endpoint)'"
    }
}

/// A wall-clock instant for spans that are recorded after the fact (a gateway request, timed by the gateway).
public struct WallClockInstant: TracerInstant {
    public let nanosecondsSinceEpoch: UInt64

    public init(_ date: Date) {
        nanosecondsSinceEpoch = UInt64(max(0, date.timeIntervalSince1970) * 1_000_000_000)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch }
}
