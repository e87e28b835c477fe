import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// The session page's live stream: every new line of the timeline as it is recorded (the audit trail as it
/// is appended, the agent's events as they come) and the run's status, without polling.
extension WebRoutes {
    private enum Live: Sendable {
        case audit(AuditEvent)
        case run(RunEvent)
        case heartbeat
        case meters
    }

    /// Sent with each change of the run's state, for the page's header.
    struct RunUpdate: Encodable, Sendable {
        var id: String
        var status: String
        var statusText: String
        var cost: String
        var tokens: String
        var going: Bool
    }

    func sessionLive(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let id = try sessionID(context)
        _ = try await sessions.get(id, for: person.caller, needs: .read)
        guard let audit = sessions.audit else {
            throw HTTPError(.serviceUnavailable, message: "This server keeps no audit trail to follow.")
        }
        // The page was rendered up to `since` (ms); what came after is sent first, and the page skips lines
        // it already shows.
        let since = Date(
            timeIntervalSince1970: (Double(request.uri.queryParameters.get("since") ?? "") ?? 0) / 1000)
        let runs = self.runs
        // Followed before the past is read, so nothing falls between the two.
        let trail = audit.follow(session: id)
        let (messages, send) = AsyncStream.makeStream(of: Live.self)
        let body = ResponseBody { writer in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await event in trail { send.yield(.audit(event)) }
                }
                group.addTask {
                    // Meters every 5 s, a heartbeat every 15 s.
                    try await ServerSentEvents.every(.seconds(5)) { tick in
                        send.yield(.meters)
                        if tick % 3 == 0 { send.yield(.heartbeat) }
                    }
                }
                var followed = Set<String>()
                var lines = RunLines()
                func follow(_ run: String) {
                    guard let runs, followed.insert(run).inserted else { return }
                    group.addTask {
                        for await event in try await runs.events(run) { send.yield(.run(event)) }
                    }
                }
                let sessionRuns = try await runs?.list(session: id) ?? []
                for item in try await timeline(id, runs: sessionRuns) where item.at >= since {
                    try await writer.write(try ServerSentEvents.message("item", item))
                }
                for run in sessionRuns where !run.status.isFinished { follow(run.id) }
                for await message in messages {
                    switch message {
                    case .heartbeat:
                        try await writer.write(ServerSentEvents.heartbeat)
                    case .meters:
                        if let stats = try await sessions.meters(id, by: person.caller) {
                            try await writer.write(try ServerSentEvents.message("meters", Meters(stats)))
                        }
                    case .audit(let event):
                        if event.kind == "run.start", let run = event.fields["run"]?.stringValue,
                            let started = try await runs?.get(run)
                        {
                            try await writer.write(
                                try ServerSentEvents.message(
                                    "item",
                                    TimelineItem(
                                        id: "p\(started.id)", at: started.createdAt, kind: "prompt",
                                        title: started.prompt, detail: nil, actor: started.createdBy)))
                            follow(run)
                        }
                        if let item = TimelineItem(audit: event) {
                            try await writer.write(try ServerSentEvents.message("item", item))
                        }
                    case .run(let event):
                        if let item = lines.line(for: event) {
                            try await writer.write(try ServerSentEvents.message("item", item))
                        }
                        if event.kind == "status" || event.kind == "usage", let run = try await runs?.get(event.run) {
                            let summary = Self.summary(run)
                            try await writer.write(
                                try ServerSentEvents.message(
                                    "run",
                                    RunUpdate(
                                        id: summary.id, status: summary.status, statusText: summary.statusText,
                                        cost: summary.cost, tokens: summary.tokens, going: summary.going)))
                        }
                    }
                }
            }
        }
        return Response(status: .ok, headers: ServerSentEvents.headers, body: body)
    }
}
