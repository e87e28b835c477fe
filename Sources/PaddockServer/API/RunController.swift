import Foundation
import Hummingbird
import NIOCore
import PaddockAPI
import PaddockCore
import PaddockServices

/// Agent runs: `POST /v1/sessions/{id}/runs` starts one; `GET /v1/runs[?session=&team=&since=]`,
/// `GET /v1/runs/{run}`, `GET /v1/runs/{run}/events[?after=N]` (NDJSON: the stored events, then new ones as
/// they happen until the run ends; a client that leaves only stops watching), `POST /v1/runs/{run}/cancel`,
/// and `GET /v1/usage[?team=&since=]`.
struct RunController {
    let runs: RunService

    func addRoutes(to router: Router<PaddockRequestContext>) {
        router.post("/v1/sessions/:id/runs", use: start)
        let group = router.group("/v1/runs")
        group.get(use: list)
        group.get(":run", use: get)
        group.get(":run/events", use: events)
        group.post(":run/cancel", use: cancel)
        router.get("/v1/usage", use: usage)
        router.get("/v1/teams/:team/budget", use: budget)
        router.put("/v1/teams/:team/budget", use: setBudget)
    }

    @Sendable func budget(_ request: Request, context: PaddockRequestContext) async throws -> TeamBudgetStatus {
        let team = try context.parameter("team")
        guard try context.requirePrincipal().canSee(team: team) else {
            throw PaddockError.permissionDenied("you are not a member of team '\(team)'")
        }
        return try await runs.budgetStatus(team: team)
    }

    @Sendable func setBudget(_ request: Request, context: PaddockRequestContext) async throws -> TeamBudgetStatus {
        let body = try await request.decode(as: TeamBudgetBody.self, context: context)
        return try await runs.setBudget(
            team: try context.parameter("team"), monthlyUSD: body.monthlyBudgetUSD, by: try context.caller())
    }

    @Sendable func start(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<Run> {
        let body = try await request.decode(as: CreateRunBody.self, context: context)
        let run = try await runs.start(
            session: try context.sessionID(), prompt: body.prompt, agent: body.agent, model: body.model,
            by: try context.caller())
        return EditedResponse(status: .created, response: run)
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> RunListBody {
        let principal = try context.requirePrincipal()
        let q = request.uri.queryParameters
        var session: SessionID?
        if let raw = q.get("session") {
            guard let id = SessionID(rawValue: raw) else {
                throw PaddockError.notFound("session \(raw) does not exist (ids are lowercase letters and digits)")
            }
            session = id
        }
        let since = try q.get("since").map { try Self.parseSince($0) }
        let limit = q.get("limit").flatMap { Int($0) } ?? 100
        let all = try await runs.list(session: session, team: q.get("team"), since: since, limit: limit)
        // Runs of teams the caller is not in are left out, as if they did not exist.
        return RunListBody(runs: all.filter { principal.canSee(team: $0.team) })
    }

    @Sendable func get(_ request: Request, context: PaddockRequestContext) async throws -> Run {
        try await runs.get(try context.requiredParameter("run", "run id"))
    }

    @Sendable func cancel(_ request: Request, context: PaddockRequestContext) async throws -> Run {
        try await runs.cancel(
            try context.requiredParameter("run", "run id"), by: try context.caller())
    }

    @Sendable func events(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        let id = try context.requiredParameter("run", "run id")
        let after = request.uri.queryParameters.get("after").flatMap { Int($0) } ?? 0
        let stream = try await runs.events(id, after: after)
        let encoder = APICoding.encoder()
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"],
            body: ResponseBody { writer in
                for await event in stream {
                    var line = try encoder.encode(event)
                    line.append(0x0A)
                    try await writer.write(ByteBuffer(bytes: line))
                }
                try await writer.finish(nil)
            })
    }

    @Sendable func usage(_ request: Request, context: PaddockRequestContext) async throws -> UsageReport {
        let principal = try context.requirePrincipal()
        let q = request.uri.queryParameters
        let team = q.get("team")
        if let team, !principal.canSee(team: team) {
            throw PaddockError.notFound("team '\(team)' does not exist; `paddock teams list` shows the teams")
        }
        let since = try q.get("since").map { try Self.parseSince($0) }
        let visible = try await runs.list(team: team, since: since).filter { principal.canSee(team: $0.team) }
        return UsageReport(runs: visible, since: since)
    }

    /// `2026-11-01`, an ISO 8601 instant, or a duration back from now (`7d`, `24h`, `30m`).
    static func parseSince(_ text: String, now: Date = Date()) throws -> Date {
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.timeZone = TimeZone(identifier: "UTC")
        day.dateFormat = "yyyy-MM-dd"
        if let date = day.date(from: text) { return date }
        if text.hasSuffix("d"), let days = Int(text.dropLast()), days >= 0,
            Int64(days) <= InputLimits.maxDurationSeconds / 86_400
        {
            return now.addingTimeInterval(-Double(days) * 86400)
        }
        if let back = try? DurationText.parse(text) { return now.addingTimeInterval(-Double(back.components.seconds)) }
        throw PaddockError.invalidArgument(
            "--since takes a date (2026-11-01), an ISO 8601 time or a duration back from now (7d, 24h); not '\(text)'")
    }
}

extension Run: ResponseEncodable {}
extension RunListBody: ResponseEncodable {}
extension UsageReport: ResponseEncodable {}
