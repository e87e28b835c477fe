import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore

/// `paddock.trigger_ack`: a signed webhook to its `202`, through the real HTTP server on loopback, with the
/// event stored durably (SQLite file, synchronous=FULL) before the answer — what a sender like PagerDuty waits
/// for. The automation is paused, so the processing that follows each event stays out of the way of the next.
enum TriggerBenchmark {
    static func run(directory: String, samples: Int) async throws -> [Benchmarks.Result] {
        let dir = directory + "/trigger-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer {
            do { try FileManager.default.removeItem(atPath: dir) } catch {
                FileHandle.standardError.write(Data("could not remove \(dir): \(error)\n".utf8))
            }
        }
        var logger = Logger(label: "paddock.bench.trigger")
        logger.logLevel = .critical
        let store = try SQLiteStore(path: dir + "/paddock.sqlite", logger: logger)
        let sessions = SessionService(store: store, providers: [:], logger: logger)
        try await store.insertProject(
            Project(ProjectSpec(name: "bench", repository: "/nonexistent/bench.git"), by: "owner", at: Date()))
        let automations = try AutomationService(projects: ProjectService(sessions: sessions), logger: logger)
        let (automation, created) = try await automations.create(
            AutomationSpec(
                name: "bench", source: .webhook, project: "bench", prompt: "{{event.text}}",
                runAs: UserAccount.ownerName, rateLimit: RateLimit(count: 10_000, window: 60)), by: .system)
        _ = try await automations.setPaused(automation.id, true, reason: "benchmark", by: .system)
        guard let secret = created else { throw PaddockError.internal("the benchmark's webhook has no secret") }

        var configuration = ServerConfiguration(port: 0)
        configuration.automations = automations
        let (port, server) = await serve(sessions, store, configuration, logger)
        let processing = Task { try await automations.run() }
        defer {
            server.cancel()
            processing.cancel()
        }
        let body = ByteBuffer(string: #"{"text": "the checkout page is blank", "severity": "high"}"#)
        var times: [Double] = []
        for i in 0..<(samples + 5) {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/hooks/\(automation.id)")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(secret)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Idempotency-Key", value: "bench-\(i)")
            request.body = .bytes(body)
            let ms = try await Benchmarks.milliseconds {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 1 << 16)
                guard response.status.code == 202 else {
                    throw PaddockError.internal("the webhook answered \(response.status.code), not 202")
                }
            }
            // The first requests open the connection and warm the caches.
            if i >= 5 { times.append(ms) }
        }
        return [
            Benchmarks.summarize(
                "paddock.trigger_ack", unit: "ms", times,
                note: "signed webhook → 202, event stored durably first (SQLite, synchronous=FULL)")
        ]
    }

    /// The real HTTP server on a free loopback port; cancel the task to stop it.
    static func serve(
        _ sessions: SessionService, _ store: SQLiteStore, _ configuration: ServerConfiguration, _ logger: Logger
    ) async -> (port: Int, server: Task<Void, any Error>) {
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = buildApplication(
            sessions: sessions, tokens: TokenService(store: store), configuration: configuration, logger: logger,
            onServerRunning: { port in
                portContinuation.yield(port)
                portContinuation.finish()
            })
        let server = Task { try await app.runService() }
        var port = 0
        for await p in portStream {
            port = p
            break
        }
        return (port, server)
    }
}
