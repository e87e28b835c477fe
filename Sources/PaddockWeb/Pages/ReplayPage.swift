import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// A run replayed step by step: the prompt, then each thing the agent said and did, the output each tool
/// gave it, and what the session's guardrails and people did meanwhile, one step at a time (First, Previous,
/// Next, Last; the arrow keys too). Steps are addressed by `?step=N`, so a step can be linked to and the page
/// works without script.
extension WebRoutes {
    struct ReplayPage: Sendable {
        var chrome: Chrome
        var sessionID: String
        var runID: String
        var prompt: String
        var summary: RunSummary
        var step: ReplayStep
        /// The steps before the current one, the latest first: what a person replaying has seen so far.
        var earlier: [ReplayStep]
        var current: Int
        var total: Int
        var first: Int
        var previous: Int?
        var next: Int?
        var last: Int
    }

    struct ReplayStep: Sendable {
        var number: Int
        var item: TimelineItem
    }

    func replay(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let id = try sessionID(context)
        _ = try await sessions.get(id, for: person.caller, needs: .read)
        guard let runs, let runID = context.parameters.get("run") else { throw HTTPError(.notFound) }
        let run = try await runs.get(runID)
        guard run.session == id else { throw HTTPError(.notFound, message: "This session has no such run.") }
        let all = try await Self.replaySteps(
            run, events: try await runs.history(run.id), audit: try await sessions.audit?.events(session: id) ?? [])
        let requested = request.uri.queryParameters.get("step").flatMap { Int($0) } ?? 1
        let current = min(max(1, requested), all.count)
        let page = ReplayPage(
            chrome: try await chrome(person, tab: "sessions"), sessionID: id.rawValue, runID: run.id,
            prompt: run.prompt, summary: Self.summary(run),
            step: ReplayStep(number: current, item: all[current - 1]),
            earlier: all.prefix(current - 1).enumerated().map { ReplayStep(number: $0.offset + 1, item: $0.element) }
                .reversed(),
            current: current, total: all.count, first: 1, previous: current > 1 ? current - 1 : nil,
            next: current < all.count ? current + 1 : nil, last: all.count)
        return try pages.page("replay", page)
    }

    /// The run's steps in order: its prompt, its own events (tool output included, which the session's
    /// timeline leaves out), and the session's audit events from while it went.
    static func replaySteps(_ run: Run, events: [RunEvent], audit: [AuditEvent]) -> [TimelineItem] {
        let end = run.finishedAt ?? .distantFuture
        var lines = RunLines()
        var steps = events.compactMap { lines.line(for: $0, showingOutput: true) }
        steps += audit.filter { $0.date >= run.createdAt && $0.date <= end }.compactMap(TimelineItem.init(audit:))
        let prompt = TimelineItem(
            id: "p\(run.id)", at: run.createdAt, kind: "prompt", title: run.prompt, detail: nil, actor: run.createdBy)
        return [prompt] + steps.sorted { $0.at < $1.at }
    }
}
