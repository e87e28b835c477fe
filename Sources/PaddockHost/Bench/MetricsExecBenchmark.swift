import Foundation
import Logging
import PaddockCore
import PaddockLinux
import PaddockObservability
import PaddockSandbox
import PaddockServices
import PaddockStore

/// Part of the `exec` group: `paddock.exec.metrics_off` against `paddock.exec.metrics_on`, `true` run to its exit
/// through the session service (where the exec metrics are emitted), first with swift-metrics' no-op backend, then
/// with the Prometheus exporter `--metrics-listen` bootstraps. The backend is process-wide and bootstrapped once,
/// so the two run one after the other rather than interleaved; the exporter stays bootstrapped for the rest of the
/// run (the groups after this one emit nothing it would slow).
struct MetricsExecBenchmark {
    let provider: LocalProvider
    let count: Int

    func run(logger: Logger) async throws -> [Benchmarks.Result] {
        let store = try SQLiteStore.inMemory(logger: logger)
        let sessions = SessionService(store: store, providers: [provider.name: provider], logger: logger)
        let session = try await sessions.create(SessionSpec(), by: .system)
        do {
            let off = try await samples(sessions, session.id)
            PrometheusExporter().bootstrap()
            let on = try await samples(sessions, session.id)
            try await sessions.destroy(session.id, by: .system)
            return [
                Benchmarks.summarize(
                    "paddock.exec.metrics_off", unit: "ms", off,
                    note: "exec `true` to its exit through the session service, no metrics backend"),
                Benchmarks.summarize(
                    "paddock.exec.metrics_on", unit: "ms", on,
                    note: "the same with the Prometheus exporter bootstrapped (--metrics-listen)"),
            ]
        } catch {
            do { try await sessions.destroy(session.id, by: .system) } catch let cleanup {
                logger.error("could not destroy the benchmark's session", metadata: ["error": "\(cleanup)"])
            }
            throw error
        }
    }

    private func samples(_ sessions: SessionService, _ id: SessionID) async throws -> [Double] {
        try await Self.runTrue(sessions, id)  // warm-up
        var out: [Double] = []
        for _ in 0..<count { out.append(try await Benchmarks.milliseconds { try await Self.runTrue(sessions, id) }) }
        return out
    }

    static func runTrue(_ sessions: SessionService, _ id: SessionID) async throws {
        let handle = try await sessions.exec(id, SessionCommand(["/usr/bin/true"]), by: .system)
        for try await event in handle.events {
            if case .exited(let status) = event, status.code != 0 {
                throw PaddockError.internal("true exited \(status.code) in the sandbox")
            }
        }
    }
}
