import Foundation
import PaddockCore

/// Agent runs and their event streams.
public protocol RunStore: Sendable {
    func insertRun(_ run: Run) async throws
    /// Replaces a stored run; `notFound` if it was never inserted.
    func updateRun(_ run: Run) async throws
    func run(id: String) async throws -> Run?
    /// Newest first; filtered by session and/or team and/or creation time when given.
    func runs(session: SessionID?, team: String?, since: Date?, limit: Int?) async throws -> [Run]
    /// Appends an event; its `seq` must be the next one of its run.
    func appendRunEvent(_ event: RunEvent) async throws
    /// Events of a run with `seq` greater than `after`, in order.
    func runEvents(run: String, after: Int) async throws -> [RunEvent]
}
