import Foundation
import PaddockAPI
import PaddockCore
import PaddockTestSupport
import Testing

extension Trait where Self == ConditionTrait {
    /// Debian's `prometheus` package (the server and promtool): `make deps` installs it.
    static var needsPrometheus: Self {
        .enabled("needs Debian's prometheus package (prometheus and promtool); `make deps` installs it") {
            FileManager.default.isExecutableFile(atPath: MetricsTests.prometheus)
                && FileManager.default.isExecutableFile(atPath: MetricsTests.promtool)
        }
    }
}

/// `paddock server --metrics-listen`: a real Prometheus scrapes a real server while the test drives sessions
/// through the CLI, and the test asks Prometheus (PromQL over its HTTP API) for what it did.
@Suite(.serialized)
struct MetricsTests {
    static let prometheus = "/usr/bin/prometheus"
    static let promtool = "/usr/bin/promtool"
    typealias CLI = CLITests.CLI

    /// The shipped alert rules are valid Prometheus rules.
    @Test(.needsPrometheus) func alertRulesPassPromtool() async throws {
        let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/prometheus/alerts.yml").path
        let result = try await Self.run(Self.promtool, ["check", "rules", rules])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("SUCCESS"), "\(result.output)")
    }

    /// The Grafana dashboard is JSON and only asks for metrics the server exports.
    @Test func dashboardIsJSON() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/grafana/paddock.json").path
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        let panels = (object as? [String: Any])?["panels"] as? [[String: Any]] ?? []
        #expect(panels.count >= 6)
    }

    @Test(.needsSandboxes, .needsPrometheus) func prometheusSeesWhatTheTestDid() async throws {
        let scratch = TestHost.makeDataDirectory("prometheus")
        let server = try await CLITests.ServerProcess(
            extraArguments: ["--metrics-listen", "127.0.0.1:0", "--log-format", "json"],
            logFile: scratch + "/server.log")
        var prometheus: Process?
        do {
            let metricsPort = try #require(Int(try await Self.portFile(server.dataDirectory + "/metrics.port")))
            // A secret the session uses: its value must appear in no metric and no log line.
            let secret = "sk-metrics-\(UUID().uuidString)"
            let set = try await CLI.run(
                ["secrets", "set", "METRICS_KEY", "--hosts", "api.example.com"], server: server, stdin: secret + "\n")
            #expect(set.status == 0, "\(set.stderr)")
            let created = try await CLI.run(
                ["session", "create", "--secret", "METRICS_KEY", "--json"],
                server: server)
            try #require(created.status == 0, "\(created.stderr)")
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))
            for _ in 0..<3 {
                let exec = try await CLI.run(["exec", session.id, "--", "true"], server: server)
                #expect(exec.status == 0, "\(exec.stderr)")
            }
            // While the session runs, it has its own resource series.
            let running = try await PreviewClient.request(port: metricsPort, host: "127.0.0.1", "GET", "/metrics")
            #expect(running.status == 200)
            #expect(running.text.contains("paddock_session_memory_bytes{session_id=\"\(session.id)\""))

            let apiPort = Int.random(in: 40001...50000)
            prometheus = try Self.startPrometheus(scraping: metricsPort, apiPort: apiPort, directory: scratch)
            let execs = try await Self.waitForValue(
                "sum(paddock_execs_total{outcome=\"ok\"})", port: apiPort, until: { $0 >= 3 })
            #expect(execs == 3)
            let starts = try await Self.waitForValue(
                "sum(paddock_session_starts_total{start=\"cold\",outcome=\"ok\"})", port: apiPort, until: { $0 >= 1 })
            #expect(starts == 1)
            let runningNow = try await Self.waitForValue(
                "sum(paddock_sessions{state=\"running\"})", port: apiPort, until: { $0 >= 1 })
            #expect(runningNow == 1)
            let latency = try await Self.waitForValue(
                "sum(paddock_exec_start_seconds_count)", port: apiPort, until: { $0 >= 3 })
            #expect(latency == 3)

            // Once the session ends, its per-session series are gone and the state gauge says so.
            let destroyed = try await CLI.run(["session", "destroy", session.id], server: server)
            #expect(destroyed.status == 0, "\(destroyed.stderr)")
            let after = try await PreviewClient.request(port: metricsPort, host: "127.0.0.1", "GET", "/metrics")
            #expect(!after.text.contains(session.id))
            #expect(!running.text.contains(secret) && !after.text.contains(secret))
            // The log is JSON lines with the session's id as a field, and never the value.
            let log = try String(contentsOfFile: scratch + "/server.log", encoding: .utf8)
            let lines = log.split(separator: "\n").filter { !$0.isEmpty }
            #expect(!lines.isEmpty)
            #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) is [String: Any] })
            #expect(lines.contains { $0.contains(#""session.id":"\#(session.id)""#) })
            #expect(!log.contains(secret))
            let stillRunning = try await Self.waitForValue(
                "sum(paddock_sessions{state=\"running\"}) or vector(0)", port: apiPort, until: { $0 == 0 })
            #expect(stillRunning == 0)
        } catch {
            await Self.stop(prometheus)
            TestHost.removeDataDirectory(scratch)
            try await server.stop()
            throw error
        }
        await Self.stop(prometheus)
        TestHost.removeDataDirectory(scratch)
        try await server.stop()
    }

    // MARK: Helpers

    static func portFile(_ path: String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            // The file is written once the listener is bound; nothing to wait on but the file itself.
            try await Task.sleep(for: .milliseconds(100))
        }
        throw PaddockError.unavailable("\(path) was not written; the server did not start its metrics listener")
    }

    static func startPrometheus(scraping port: Int, apiPort: Int, directory: String) throws -> Process {
        let config = """
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            scrape_configs:
              - job_name: paddock
                static_configs: [{targets: ["127.0.0.1:\(port)"]}]
            """
        try config.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: prometheus)
        p.arguments = [
            "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
            "--web.listen-address=127.0.0.1:\(apiPort)",
        ]
        _ = FileManager.default.createFile(atPath: directory + "/prometheus.log", contents: nil)
        let log = FileHandle(forWritingAtPath: directory + "/prometheus.log")
        p.standardOutput = log
        p.standardError = log
        try p.run()
        return p
    }

    static func stop(_ process: Process?) async {
        guard let process else { return }
        await ChildProcess.end(process)
    }

    /// Asks Prometheus until the query's single value satisfies `until` (scrapes come every second, and a loaded
    /// host delays them), and returns the last value seen.
    static func waitForValue(_ query: String, port: Int, until: (Double) -> Bool) async throws -> Double? {
        let deadline = ContinuousClock.now + .seconds(90)
        var last: Double?
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
        while ContinuousClock.now < deadline {
            if let answer = try? await PreviewClient.request(
                port: port, host: "127.0.0.1", "GET", "/api/v1/query?query=\(encoded)"),
                let data = (try? answer.json())?["data"] as? [String: Any],
                let result = (data["result"] as? [[String: Any]])?.first,
                let value = (result["value"] as? [Any])?.last as? String
            {
                last = Double(value)
                if let last, until(last) { return last }
            }
            // Prometheus scrapes once a second: asking more often only repeats the same answer.
            try await Task.sleep(for: .milliseconds(500))
        }
        return last
    }

    static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let log = TestHost.makeDataDirectory("promtool") + "/out"
        defer { TestHost.removeDataDirectory(URL(fileURLWithPath: log).deletingLastPathComponent().path) }
        FileManager.default.createFile(atPath: log, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let handle = FileHandle(forWritingAtPath: log)
        p.standardOutput = handle
        p.standardError = handle
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            p.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try p.run() } catch { continuation.resume(throwing: error) }
        }
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }
}
