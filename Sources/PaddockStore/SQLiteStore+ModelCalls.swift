import Foundation
import GRDB
import PaddockCore

extension SQLiteStore: ModelCallStore {
    static func createModelCallTable(_ db: Database) throws {
        try db.create(table: "model_call") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("at", .datetime).notNull().indexed()
            t.column("session", .text).notNull().indexed()
            t.column("run", .text).indexed()
            t.column("team", .text).indexed()
            t.column("project", .text)
            t.column("api", .text).notNull()
            t.column("host", .text).notNull()
            t.column("model", .text)
            t.column("inputTokens", .integer).notNull()
            t.column("outputTokens", .integer).notNull()
            t.column("cacheReadTokens", .integer).notNull()
            t.column("cacheWriteTokens", .integer).notNull()
            t.column("costUSD", .double).notNull()
            t.column("latencyMs", .integer).notNull()
            t.column("status", .integer)
            t.column("metered", .boolean).notNull()
        }
    }

    public func insertModelCall(_ call: ModelCall) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO model_call (at, session, run, team, project, api, host, model, inputTokens,
                        outputTokens, cacheReadTokens, cacheWriteTokens, costUSD, latencyMs, status, metered)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    call.at, call.session.rawValue, call.run, call.team, call.project, call.api, call.host,
                    call.model, call.usage.input, call.usage.output, call.usage.cacheRead, call.usage.cacheWrite,
                    call.costUSD, call.latencyMilliseconds, call.status, call.metered,
                ])
        }
    }

    public func modelCallTotals(run: String?, session: SessionID?, team: String?, since: Date?) async throws
        -> MeteredUsage
    {
        let (clause, arguments) = Self.modelCallFilter(run: run, session: session, team: team, since: since)
        return try await read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) AS calls, COALESCE(SUM(inputTokens), 0) AS i, COALESCE(SUM(outputTokens), 0) AS o,
                        COALESCE(SUM(cacheReadTokens), 0) AS r, COALESCE(SUM(cacheWriteTokens), 0) AS w,
                        COALESCE(SUM(costUSD), 0) AS cost
                    FROM model_call \(clause)
                    """, arguments: arguments)
            guard let row else { return MeteredUsage() }
            return MeteredUsage(
                calls: row["calls"],
                usage: TokenUsage(input: row["i"], output: row["o"], cacheRead: row["r"], cacheWrite: row["w"]),
                costUSD: row["cost"])
        }
    }

    public func modelCalls(session: SessionID?, run: String?, limit: Int) async throws -> [ModelCall] {
        let (clause, arguments) = Self.modelCallFilter(run: run, session: session, team: nil, since: nil)
        return try await read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM model_call \(clause) ORDER BY id DESC LIMIT \(max(0, limit))",
                arguments: arguments)
            return self.readable(rows, "model call") { row in
                guard let session = SessionID(rawValue: row["session"]) else {
                    throw PaddockError.internal("a model call row names no valid session")
                }
                return ModelCall(
                    at: row["at"], session: session, run: row["run"], team: row["team"], project: row["project"],
                    api: row["api"], host: row["host"], model: row["model"],
                    usage: TokenUsage(
                        input: row["inputTokens"], output: row["outputTokens"], cacheRead: row["cacheReadTokens"],
                        cacheWrite: row["cacheWriteTokens"]),
                    costUSD: row["costUSD"], latencyMilliseconds: row["latencyMs"], status: row["status"],
                    metered: row["metered"])
            }
        }
    }

    private static func modelCallFilter(run: String?, session: SessionID?, team: String?, since: Date?) -> (
        String, StatementArguments
    ) {
        var conditions: [String] = []
        var arguments = StatementArguments()
        if let run {
            conditions.append("run = ?")
            arguments += [run]
        }
        if let session {
            conditions.append("session = ?")
            arguments += [session.rawValue]
        }
        if let team {
            conditions.append("team = ?")
            arguments += [team]
        }
        if let since {
            conditions.append("at >= ?")
            arguments += [since]
        }
        return (conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "), arguments)
    }
}
