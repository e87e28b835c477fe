import Foundation
import PaddockAPI
import PaddockCore
import PaddockTestSupport
import Testing

extension Trait where Self == ConditionTrait {
    /// opentelemetry-proto in the repository's .venv (scripts/install-python.sh installs it).
    static var needsOTLPProto: Self {
        .enabled("needs opentelemetry-proto in .venv; run scripts/install-python.sh") {
            TracingTests.python != nil
        }
    }
}

/// `paddock server --otlp-endpoint`: a real server sends its traces over OTLP/HTTP to a loopback receiver that
/// decodes them with opentelemetry-proto (Tests/PaddockIntegrationTests/Fixtures/otlp_receiver.py). The test
/// drives a session through the CLI and the API, then reads the spans that arrived.
@Suite(.serialized)
struct TracingTests {
    typealias CLI = CLITests.CLI

    static var python: String? {
        let python = MCPTests.repository + "/.venv/bin/python"
        let proto = MCPTests.repository + "/.venv/lib/python3.11/site-packages/opentelemetry/proto/__init__.py"
        return FileManager.default.fileExists(atPath: proto) ? python : nil
    }

    struct Span {
        var traceID: String
        var spanID: String
        var parentSpanID: String
        var name: String
        var attributes: [String: String]
    }

    @Test(.needsSandboxes, .needsOTLPProto) func tracesArriveWithTheSessionAndKeepTheClientsTraceID() async throws {
        let scratch = TestHost.makeDataDirectory("otlp")
        let receiver = try Self.startReceiver(directory: scratch)
        var server: CLITests.ServerProcess?
        do {
            let otlpPort = try await MetricsTests.portFile(scratch + "/otlp.port")
            let started = try await CLITests.ServerProcess(
                extraArguments: [
                    "--otlp-endpoint", "http://127.0.0.1:\(otlpPort)", "--metrics-listen", "127.0.0.1:0",
                    "--log-format", "json",
                ],
                logFile: scratch + "/server.log")
            server = started
            try await Self.driveAndCheck(started, scratch: scratch)
        } catch {
            await MetricsTests.stop(receiver)
            try await server?.stop()
            TestHost.removeDataDirectory(scratch)
            throw error
        }
        await MetricsTests.stop(receiver)
        try await server?.stop()
        TestHost.removeDataDirectory(scratch)
    }

    static func driveAndCheck(_ server: CLITests.ServerProcess, scratch: String) async throws {
        // A secret the session uses: its value must appear in no span, metric or log line.
        let secret = "sk-traces-\(UUID().uuidString)"
        let set = try await CLI.run(
            ["secrets", "set", "TRACES_KEY", "--hosts", "api.example.com"], server: server, stdin: secret + "\n")
        #expect(set.status == 0, "\(set.stderr)")
        let created = try await CLI.run(["session", "create", "--secret", "TRACES_KEY", "--json"], server: server)
        try #require(created.status == 0, "\(created.stderr)")
        let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))
        let shown = try await CLI.run(["exec", session.id, "--", "sh", "-c", "echo $TRACES_KEY"], server: server)
        #expect(shown.status == 0, "\(shown.stderr)")

        // A client that is itself traced: its trace id is kept, and its span is the request's parent.
        let traceID = Self.hex(bytes: 16)
        let parentID = Self.hex(bytes: 8)
        let token = try String(contentsOfFile: server.dataDirectory + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let answer = try await PreviewClient.request(
            port: server.port, host: "127.0.0.1", "POST", "/v1/sessions/\(session.id)/exec",
            headers: [
                "Authorization": "Bearer \(token)", "Content-Type": "application/json",
                "traceparent": "00-\(traceID)-\(parentID)-01",
            ],
            body: Array(#"{"cmd":["true"]}"#.utf8))
        #expect(answer.status == 200, "\(answer.text)")

        let spans = try await Self.waitForSpans(in: scratch + "/spans.jsonl") { spans in
            spans.contains { $0.traceID == traceID && $0.name == "paddock-init.exec" }
                && spans.contains { $0.name == "session.create" && $0.attributes["paddock.session.id"] != nil }
                && spans.contains { upgrade in
                    upgrade.name.hasSuffix("/exec/ws")
                        && spans.contains { $0.name == "session.exec" && $0.parentSpanID == upgrade.spanID }
                }
        }
        let names = spans.map { "\($0.name) \($0.traceID)" }
        // The request's span continues the client's trace, under the client's span.
        let request = try #require(
            spans.first { $0.traceID == traceID && $0.name.hasPrefix("HTTP POST") }, "\(names)")
        #expect(request.parentSpanID == parentID)
        #expect(request.attributes["paddock.session.id"] == session.id)
        #expect(request.attributes["http.response.status_code"] == "200")
        // …through the service to paddock-init, in the same trace.
        let exec = try #require(spans.first { $0.traceID == traceID && $0.name == "session.exec" }, "\(names)")
        #expect(exec.parentSpanID == request.spanID)
        #expect(exec.attributes["paddock.session.id"] == session.id)
        let initExec = try #require(spans.first { $0.traceID == traceID && $0.name == "paddock-init.exec" })
        #expect(initExec.parentSpanID == exec.spanID)

        // The CLI's exec goes over a WebSocket: its spans are in the trace of the upgrade request, whose span
        // ended with the 101 before the command ran.
        let upgrade = try #require(spans.first { $0.name.hasSuffix("/exec/ws") }, "\(names)")
        let streamed = try #require(
            spans.first { $0.name == "session.exec" && $0.parentSpanID == upgrade.spanID }, "\(names)")
        #expect(streamed.traceID == upgrade.traceID)
        #expect(streamed.attributes["paddock.session.id"] == session.id)

        // The CLI's create is a trace of its own, through the service to the provider.
        let create = try #require(spans.first { $0.name == "session.create" })
        #expect(create.attributes["paddock.session.id"] == session.id)
        #expect(create.traceID != traceID)
        let provider = spans.first { $0.name == "provider.create" && $0.traceID == create.traceID }
        #expect(provider?.attributes["paddock.session.id"] == session.id, "\(names)")
        #expect(provider?.parentSpanID == create.spanID)

        // No secret value in any output: the bytes the receiver got, the metrics, the log.
        let raw = try Data(contentsOf: URL(fileURLWithPath: scratch + "/raw.bin"))
        #expect(!raw.isEmpty)
        #expect(raw.range(of: Data(secret.utf8)) == nil)
        let metricsPort = try #require(Int(try await MetricsTests.portFile(server.dataDirectory + "/metrics.port")))
        let metrics = try await PreviewClient.request(port: metricsPort, host: "127.0.0.1", "GET", "/metrics")
        #expect(metrics.status == 200 && !metrics.text.contains(secret))
        let log = try String(contentsOfFile: scratch + "/server.log", encoding: .utf8)
        #expect(!log.isEmpty && !log.contains(secret))
        #expect(!shown.stdout.contains(secret), "the sandbox sees a placeholder")
        let destroyed = try await CLI.run(["session", "destroy", session.id], server: server)
        #expect(destroyed.status == 0, "\(destroyed.stderr)")
    }

    // MARK: Helpers

    static func startReceiver(directory: String) throws -> Process {
        let python = try #require(Self.python)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [
            MCPTests.repository + "/Tests/PaddockIntegrationTests/Fixtures/otlp_receiver.py",
            directory + "/otlp.port", directory + "/spans.jsonl", directory + "/raw.bin",
        ]
        _ = FileManager.default.createFile(atPath: directory + "/receiver.log", contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: directory + "/receiver.log")
        p.standardError = FileHandle(forWritingAtPath: directory + "/receiver.log")
        try p.run()
        return p
    }

    /// Reads the spans received so far until `until` holds (the server batches spans and sends them about once a
    /// second; a loaded host delays that).
    static func waitForSpans(in path: String, until: ([Span]) -> Bool) async throws -> [Span] {
        let deadline = ContinuousClock.now + .seconds(90)
        var spans: [Span] = []
        while ContinuousClock.now < deadline {
            spans = Self.read(path)
            if until(spans) { return spans }
            // The receiver appends to a file; nothing to wait on but the file itself.
            try await Task.sleep(for: .milliseconds(250))
        }
        return spans
    }

    static func read(_ path: String) -> [Span] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return Span(
                traceID: object["trace_id"] as? String ?? "", spanID: object["span_id"] as? String ?? "",
                parentSpanID: object["parent_span_id"] as? String ?? "", name: object["name"] as? String ?? "",
                attributes: object["attributes"] as? [String: String] ?? [:])
        }
    }

    static func hex(bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 1...255)) }.joined()
    }
}
