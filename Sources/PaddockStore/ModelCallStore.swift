import Foundation
import PaddockCore

/// Model calls metered at the gateway, one row each.
public protocol ModelCallStore: Sendable {
    func insertModelCall(_ call: ModelCall) async throws
    /// The calls' totals, filtered by run, session, team and time when given.
    func modelCallTotals(run: String?, session: SessionID?, team: String?, since: Date?) async throws -> MeteredUsage
    /// Newest first.
    func modelCalls(session: SessionID?, run: String?, limit: Int) async throws -> [ModelCall]
}
