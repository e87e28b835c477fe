import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// Reviews: the queue, and one review with its diff, checks, the runs that made it and the session's audit
/// timeline; approve and merge, request changes (the comment becomes the session's next prompt), or reject.
extension WebRoutes {
    struct ReviewRow: Sendable {
        var id: String
        var message: String
        var state: String
        var author: String
        var repository: String
        var target: String
        var lines: Int
        var files: Int
        var created: String
    }

    struct ReviewsPage: Sendable {
        var chrome: Chrome
        var reviews: [ReviewRow]
    }

    func reviews(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let all = request.uri.queryParameters.get("all") == "1"
        let rows = try await ReviewService(sessions: sessions).list(all: all, for: person.caller).map(Self.row)
        return try pages.page("reviews", ReviewsPage(chrome: try await chrome(person, tab: "reviews"), reviews: rows))
    }

    struct RunView: Sendable {
        var id: String
        var prompt: String
        var agent: String
        var status: String
        var cost: String
        var finalMessage: String?
        /// What the agent said and did, as on the session page.
        var transcript: [TimelineItem]
    }

    struct ReviewPage: Sendable {
        var chrome: Chrome
        var review: ReviewRow
        var session: String
        var decidable: Bool
        var mergeable: Bool
        var note: String?
        var problem: String?
        var mergeCommit: String?
        var files: [UnifiedDiff.File]
        var checks: [CheckView]
        /// Generated or binary files the change carries, and files the policy left out of it.
        var warnings: [String]
        /// The left-out files, one line.
        var excluded: String?
        var runs: [RunView]
        var timeline: [TimelineItem]
    }

    func review(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        guard let id = context.parameters.get("id") else { throw HTTPError(.notFound) }
        let detail = try await ReviewService(sessions: sessions).detail(id, for: person.caller)
        let r = detail.review
        let page = ReviewPage(
            chrome: try await chrome(person, tab: "reviews"), review: Self.row(r), session: r.session.rawValue,
            decidable: r.state == .open, mergeable: r.state == .approved, note: r.note, problem: r.problem,
            mergeCommit: r.mergeCommit, files: UnifiedDiff(detail.report?.diff.patch ?? "").files,
            checks: (detail.report?.checks ?? []).map {
                CheckView(command: $0.command, passed: $0.passed, exitCode: $0.exitCode, output: $0.output)
            },
            warnings: detail.report?.diff.warnings ?? [], excluded: Self.excludedLine(detail.report?.diff),
            runs: try await transcripts(detail.runs),
            timeline: detail.audit.compactMap(TimelineItem.init(audit:)))
        return try pages.page("review", page)
    }

    private func transcripts(_ runs: [Run]) async throws -> [RunView] {
        var views: [RunView] = []
        for run in runs {
            var lines = RunLines()
            let transcript = try await self.runs?.history(run.id).compactMap { lines.line(for: $0) } ?? []
            views.append(
                RunView(
                    id: run.id, prompt: run.prompt, agent: run.agent, status: TimelineItem.describe(status: run.status),
                    cost: String(format: "$%.2f", run.costUSD), finalMessage: run.finalMessage, transcript: transcript))
        }
        return views
    }

    func decide(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        guard let id = context.parameters.get("id"), let decision = context.parameters.get("decision") else {
            throw HTTPError(.notFound)
        }
        let form = try await FormFields.read(request)
        let note = form["note"].flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        let reviews = ReviewService(sessions: sessions)
        switch decision {
        case "approve": _ = try await reviews.approve(id, note: note, by: person.caller)
        case "merge": _ = try await reviews.merge(id, by: person.caller)
        case "reject": _ = try await reviews.reject(id, note: note, by: person.caller)
        case "request-changes":
            guard let note else {
                throw HTTPError(.badRequest, message: "Say what should change; the comment goes to the agent.")
            }
            let review = try await reviews.reject(id, note: "changes requested: \(note)", by: person.caller)
            guard let runs else {
                throw HTTPError(.serviceUnavailable, message: "Agents are not configured on this server.")
            }
            _ = try await runs.start(session: review.session, prompt: note, by: person.caller)
        default: throw HTTPError(.notFound)
        }
        return .redirect(to: "/reviews/\(id)", type: .found)
    }

    static func row(_ r: Review) -> ReviewRow {
        ReviewRow(
            id: r.id, message: r.message, state: r.state.rawValue, author: r.createdBy ?? "—",
            repository: r.repository, target: r.targetBranch, lines: r.linesChanged, files: r.filesChanged,
            created: day.string(from: r.createdAt))
    }
}
