import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// The session list and the session page: what the agent is doing, live, with the prompt box, Stop, the
/// changes and Submit for review.
extension WebRoutes {
    struct SessionRow: Sendable {
        var id: String
        var title: String
        var state: String
        var team: String
        var created: String
    }

    struct SessionListPage: Sendable {
        var chrome: Chrome
        var sessions: [SessionRow]
    }

    func sessionList(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        var rows: [SessionRow] = []
        for session in try await sessions.list(includeEnded: false, for: person.caller) {
            let latest = try await runs?.list(session: session.id, limit: 1).first
            rows.append(
                SessionRow(
                    id: session.id.rawValue, title: Self.title(session, latest), state: session.state.rawValue,
                    team: session.team ?? "—", created: Self.day.string(from: session.createdAt)))
        }
        return try pages.page(
            "sessions", SessionListPage(chrome: try await chrome(person, tab: "sessions"), sessions: rows))
    }

    struct RunSummary: Sendable {
        var id: String
        var prompt: String
        var status: String
        var statusText: String
        var agent: String
        var cost: String
        var tokens: String
        var going: Bool
    }

    struct SessionPage: Sendable {
        var chrome: Chrome
        var sessionID: String
        /// When the page was rendered (ms since 1970): the live stream sends what came after.
        var since: Int64
        var title: String
        var state: String
        var team: String
        var run: RunSummary?
        var items: [TimelineItem]
        var meters: Meters?
        var canPrompt: Bool
        var previews: PreviewSection?
    }

    func sessionPage(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let id = try sessionID(context)
        let session = try await sessions.get(id, for: person.caller, needs: .read)
        // Taken before the timeline is read, less a margin for events whose time was taken before it but which
        // were stored after the read: the live stream repeats what came since, and the page skips doubles.
        let rendered = Date().addingTimeInterval(-2)
        let sessionRuns = try await runs?.list(session: id) ?? []
        let items = try await timeline(id, runs: sessionRuns)
        let latest = sessionRuns.first
        let page = SessionPage(
            chrome: try await chrome(person, tab: "sessions"), sessionID: id.rawValue,
            since: Int64((rendered.timeIntervalSince1970 * 1000).rounded(.down)), title: Self.title(session, latest),
            state: session.state.rawValue, team: session.team ?? "no team", run: latest.map(Self.summary),
            items: items, meters: try await sessions.meters(id, by: person.caller).map(Meters.init),
            canPrompt: session.state == .running || session.state == .paused,
            previews: await previewSection(session, person.caller))
        return try pages.page("session", page)
    }

    /// Everything that happened in the session so far, oldest first.
    func timeline(_ id: SessionID, runs sessionRuns: [Run]) async throws -> [TimelineItem] {
        var items = try await sessions.audit?.events(session: id).compactMap(TimelineItem.init(audit:)) ?? []
        for run in sessionRuns {
            items.append(
                TimelineItem(
                    id: "p\(run.id)", at: run.createdAt, kind: "prompt", title: run.prompt, detail: nil,
                    actor: run.createdBy))
            var lines = RunLines()
            items += try await runs?.history(run.id).compactMap { lines.line(for: $0) } ?? []
        }
        return items.sorted { $0.at < $1.at }
    }

    func prompt(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let id = try sessionID(context)
        let form = try await FormFields.read(request)
        guard let runs else {
            throw HTTPError(.serviceUnavailable, message: "Agents are not configured on this server.")
        }
        _ = try await runs.start(session: id, prompt: try form.required("prompt", "The prompt"), by: person.caller)
        return .redirect(to: "/sessions/\(id)", type: .found)
    }

    func stop(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let id = try sessionID(context)
        _ = try await sessions.get(id, for: person.caller, needs: .write)
        if let going = try await runs?.list(session: id).first(where: { !$0.status.isFinished }) {
            _ = try await runs?.cancel(going.id, by: person.caller)
        }
        return .redirect(to: "/sessions/\(id)", type: .found)
    }

    static func summary(_ run: Run) -> RunSummary {
        RunSummary(
            id: run.id, prompt: run.prompt, status: run.status.rawValue,
            statusText: TimelineItem.describe(status: run.status),
            agent: run.agent, cost: String(format: "$%.2f", run.costUSD),
            tokens: "\(run.usage.input + run.usage.output)", going: !run.status.isFinished)
    }

    static func title(_ session: Session, _ run: Run?) -> String {
        let text = run?.prompt ?? session.spec.name ?? "Session \(session.id)"
        return text.count > 90 ? String(text.prefix(90)) + "…" : text
    }

    static var day: DateFormatter {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        f.timeZone = TimeZone(identifier: "UTC")
        return f
    }
}
