import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockWeb

/// The web UI's speed, through a real server on loopback with a real SQLite file and a signed-in browser
/// session: `paddock.ui_session_page` (a session page with 2,000 timeline events, request to last byte) and
/// `paddock.ui_event_latency` (an event recorded by the server → its line on the session page's live stream).
struct UIBenchmark {
    let directory: String
    let iterations: Int
    static let timelineEvents = 2_000

    func run() async throws -> [Benchmarks.Result] {
        let dir = directory + "/ui-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer {
            do { try FileManager.default.removeItem(atPath: dir) } catch {
                FileHandle.standardError.write(Data("paddock bench: could not remove \(dir): \(error)\n".utf8))
            }
        }
        var logger = Logger(label: "paddock.bench.ui")
        logger.logLevel = .error
        let store = try SQLiteStore(path: dir + "/paddock.sqlite", logger: logger)
        let sessions = SessionService(store: store, providers: [:], logger: logger)
        let tokens = TokenService(store: store)
        let now = Date()
        try await store.insertUser(UserAccount(name: "bench", role: .admin, createdAt: now))
        // The cheapest password hashing: signing in is not what is measured.
        let signIn = SignInService(
            store: store, trail: sessions.orgTrail,
            configuration: SignInConfiguration(passwordHashing: .init(logN: 10, r: 8, p: 1)), logger: logger)
        try await signIn.setPassword(user: "bench", password: "a benchmark's passphrase", by: .system)
        let cookie = try await signIn.signIn(
            user: "bench", password: "a benchmark's passphrase", address: "127.0.0.1", userAgent: "paddock bench"
        ).cookie
        let session = try await Self.longSession(sessions, store: store)

        var configuration = ServerConfiguration(port: 0)
        configuration.signIn = signIn
        configuration.webPages = try await PageRenderer.load()
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let app = buildApplication(
            sessions: sessions, tokens: tokens, configuration: configuration, logger: logger,
            onServerRunning: { announce.yield($0) })
        let server = Task { try await app.runService() }
        defer { server.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            throw PaddockError.internal("the UI benchmark's server did not start")
        }
        let base = "http://127.0.0.1:\(port)"
        let headers = [("Cookie", "\(BrowserAuthenticator.cookieName)=\(cookie)")]
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { client.shutdown { _ in } }

        var pageTimes: [Double] = []
        var pageBytes = 0
        for _ in 0..<(iterations * 2) {
            pageTimes.append(
                try await Benchmarks.milliseconds {
                    pageBytes = try await Benchmarks.get(client, "\(base)/sessions/\(session)", headers: headers)
                })
        }
        let latencies = try await eventLatencies(
            client, url: "\(base)/sessions/\(session)/live?since=\(Int64(Date().timeIntervalSince1970 * 1000))",
            headers: headers, audit: sessions.audit, session: session)
        return [
            Benchmarks.summarize(
                "paddock.ui_session_page", unit: "ms", pageTimes,
                note: "\(Self.timelineEvents) timeline events, \(pageBytes / 1024) KiB of HTML"),
            Benchmarks.summarize(
                "paddock.ui_event_latency", unit: "ms", latencies, note: "audit append → line on the live stream"),
        ]
    }

    /// Records one event at a time and waits for its line on the open stream: from just before the record (its
    /// durable write included) to the line's arrival.
    private func eventLatencies(
        _ client: HTTPClient, url: String, headers: [(String, String)], audit: AuditLog?, session: SessionID
    ) async throws -> [Double] {
        guard let audit else { throw PaddockError.internal("the UI benchmark's server keeps no audit trail") }
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(600))
        guard response.status == .ok else {
            throw PaddockError.internal("the live stream answered \(response.status)")
        }
        var body = response.body.makeAsyncIterator()
        var received = ""
        var samples: [Double] = []
        for index in 0..<(iterations * 3) {
            let marker = "bench-marker-\(index)"
            let start = ContinuousClock.now
            try await audit.record(
                session: session, kind: "exec", actor: AuditActor(user: "bench", token: nil),
                fields: ["argv": .list([.string("echo"), .string(marker)]), "exit": .int(0)])
            while !received.contains(marker) {
                guard let chunk = try await body.next() else {
                    throw PaddockError.internal("the live stream ended before event \(index) arrived")
                }
                received += String(buffer: chunk)
            }
            let elapsed = ContinuousClock.now - start
            samples.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            received = ""
        }
        return samples
    }

    /// An ended session of `team` whose trail has `events` commands, file writes and connections, as a long
    /// agent run leaves (also the page the browser story times).
    static func longSession(
        _ sessions: SessionService, store: SQLiteStore, team: String? = nil, events: Int = timelineEvents
    ) async throws -> SessionID {
        let now = Date()
        var session = Session(
            id: .random(), state: .destroyed, spec: SessionSpec(name: "a long session"), createdAt: now,
            updatedAt: now, expiresAt: nil)
        session.team = team
        try await store.insertSession(session)
        guard let audit = sessions.audit else { throw PaddockError.internal("no audit trail to fill") }
        let actor = AuditActor(user: "bench", token: nil)
        for index in 0..<events {
            let (kind, fields): (String, [String: AuditValue]) =
                switch index % 3 {
                case 0: ("exec", ["argv": .list([.string("python3"), .string("step\(index).py")]), "exit": .int(0)])
                case 1: ("file.write", ["path": .string("/workspace/src/module\(index).py")])
                default:
                    (
                        "network.request",
                        ["host": .string("pypi.org"), "method": .string("GET"), "decision": .string("allow")]
                    )
                }
            try await audit.record(session: session.id, kind: kind, actor: actor, fields: fields)
        }
        return session.id
    }
}
