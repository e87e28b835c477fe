import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PaddockCore
import PaddockLinux
import PaddockSandbox
import PaddockServer
import PaddockServices
import PaddockStore

/// `paddock.trigger_to_agent` (`--only trigger`, needs sandboxes): a signed Slack app mention, POSTed to the real
/// HTTP server on loopback, to its agent's process running in a new session of a project — the event stored,
/// acknowledged, processed from the store, the linked person's permissions checked, the session started from
/// the warm pool on the project's repository (its commit cached, as after the first session), and the agent
/// spawned. The end is the run's own `running` event, stamped when the agent's process has started, so the
/// measurement does not depend on how fast it is noticed. The agent is `true`: what comes after it starts is the
/// model's time, not the trigger's.
struct TriggerAgentBenchmark {
    let iterations: Int
    let provider: LocalProvider
    let dataDirectory: String

    static let signingSecret = "bench-signing-secret-0123456789abcdef"

    func run() async throws -> [Benchmarks.Result] {
        let root = dataDirectory + "/trigger-agent-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer {
            // SQLite removes its -shm file as the store closes, which can race the removal's walk: a second
            // attempt sees the directory as it is left.
            for attempt in 1...2 {
                do {
                    try FileManager.default.removeItem(atPath: root)
                    break
                } catch {
                    if attempt == 2 {
                        FileHandle.standardError.write(Data("could not remove \(root): \(error)\n".utf8))
                    }
                }
            }
        }
        var logger = Logger(label: "paddock.bench.trigger")
        logger.logLevel = .critical
        let origin = root + "/origin.git"
        try await RepoBenchmark.generate(origin, files: 20)

        let store = try SQLiteStore(path: root + "/paddock.sqlite", logger: logger)
        let sessions = SessionService(store: store, providers: [provider.name: provider], logger: logger)
        await sessions.setRepositories(try RepositoryClones(root: root + "/repos"))
        try await store.insertUser(UserAccount(name: "bench", role: .admin, createdAt: Date()))
        let vault = try SecretVault(store: store, keyFile: root + "/vault.key")
        for (name, value) in [("SLACK_SIGNING_SECRET", Self.signingSecret), ("SLACK_BOT_TOKEN", "xoxb-bench")] {
            _ = try await vault.set(name: name, team: nil, value: value, hosts: ["127.0.0.1"], allowHTTP: true)
        }
        let runs = RunService(
            sessions: sessions, store: store, teams: store,
            configuration: RunConfiguration(
                agents: [AgentDefinition(name: "true", kind: .command, argv: ["true"])], defaultAgent: "true"),
            logger: logger)
        let projects = ProjectService(sessions: sessions, vault: vault, runs: runs)
        _ = try await projects.add(
            ProjectSpec(name: "bench", repository: origin, branch: "main"), by: .system)
        // Replies go to a port nothing listens on: the outbox's retries stay out of the measured path.
        let automations = try AutomationService(
            projects: projects,
            integrations: AutomationIntegrations(slack: try SlackSettings(apiURL: "http://127.0.0.1:9/api")),
            logger: logger)
        let (automation, _) = try await automations.create(
            AutomationSpec(
                name: "bench", source: .slack, project: "bench", prompt: "{{event.text}}", runAs: "bench",
                rateLimit: RateLimit(count: 10_000, window: 60)), by: .system)
        try await automations.link(provider: "slack", external: "UBENCH", user: "bench", by: .system)

        var configuration = ServerConfiguration(port: 0, vault: vault, runs: runs)
        configuration.automations = automations
        let (port, server) = await TriggerBenchmark.serve(sessions, store, configuration, logger)
        let running = Task { try await runs.run() }
        let processing = Task { try await automations.run() }
        defer {
            server.cancel()
            running.cancel()
            processing.cancel()
        }
        var times: [Double] = []
        do {
            // The first session clones the origin and seals its commit's layer: not what a trigger waits for.
            for round in 0...max(5, min(iterations, 20)) {
                let ms = try await sample(round, port: port, automation: automation.id, automations, runs, sessions)
                if round > 0 { times.append(ms) }
            }
        } catch {
            await Self.cleanUp(sessions, provider)
            throw error
        }
        await Self.cleanUp(sessions, provider)
        return [
            Benchmarks.summarize(
                "paddock.trigger_to_agent", unit: "ms", times,
                note: "signed Slack mention → agent process running in a new project session (warm pool)")
        ]
    }

    /// One mention in a new thread (so a new session), timed from sending it to its run's `running` event.
    private func sample(
        _ round: Int, port: Int, automation: String, _ automations: AutomationService, _ runs: RunService,
        _ sessions: SessionService
    ) async throws -> Double {
        _ = try await provider.fillPool(.host, size: 1)
        let ts = "1700000000.\(String(format: "%06d", round))"
        let body =
            #"{"type":"event_callback","event_id":"EvBench\#(round)","team_id":"T1","event":{"type":"app_mention","#
            + #""user":"UBENCH","text":"<@UAPP> say hello","channel":"C1","ts":"\#(ts)"}}"#
        let stamp = String(Int(Date().timeIntervalSince1970))
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/hooks/slack/events")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Slack-Request-Timestamp", value: stamp)
        request.headers.add(
            name: "X-Slack-Signature",
            value: AutomationService.slackSignature(Data(body.utf8), timestamp: stamp, secret: Self.signingSecret))
        request.body = .bytes(ByteBuffer(string: body))
        // Which run the event starts is known once it starts (its `run.start` in the trail); followed from before the
        // event is sent, so it cannot be missed.
        guard let audit = sessions.audit else { throw PaddockError.internal("the benchmark's sessions keep no trail") }
        let trail = audit.followAll()
        let sent = Date()
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 16)
        guard response.status.code == 200 else {
            throw PaddockError.internal("the Slack events URL answered \(response.status.code), not 200")
        }
        let started: (run: String, session: SessionID)
        do {
            started = try await withDeadline(.seconds(120), "the benchmark's Slack event starting a run") {
                for await event in trail where event.kind == "run.start" {
                    if case .string(let run) = event.fields["run"] { return (run, event.session) }
                }
                throw PaddockError.internal("the audit feed ended")
            }
        } catch {
            let invocation = try await automations.history(automation, limit: 1, for: .system).first?.invocation
            let decision = invocation.map { "\($0.decision): \($0.reason ?? "-")" } ?? "no invocation"
            throw PaddockError.internal("the benchmark's event started no run (\(decision)): \(error)")
        }
        let (run, session) = started
        var ranAt: Date?
        for await event in try await runs.events(run) where event.kind == "status" && event.status == .running {
            ranAt = event.at
            break
        }
        _ = try await runs.wait(run)
        _ = try await sessions.destroy(session, by: .system)
        guard let ranAt else { throw PaddockError.internal("the benchmark's run never ran") }
        return ranAt.timeIntervalSince(sent) * 1000
    }

    private static func cleanUp(_ sessions: SessionService, _ provider: LocalProvider) async {
        do {
            for session in try await sessions.list(includeEnded: false) {
                _ = try await sessions.destroy(session.id, by: .system)
            }
            _ = try await provider.fillPool(.host, size: 0)
        } catch {
            FileHandle.standardError.write(Data("the trigger benchmark could not clean up: \(error)\n".utf8))
        }
    }
}
