import Foundation
import PaddockCore
import PaddockStore

/// The emergency stop: an admin freezes and destroys every session of a team (or of the organisation) at once,
/// and new sessions are refused until the stop is lifted. The stop and its lifting are in the organisation's
/// trail; each destroyed session's own trail names who stopped it.
public struct EmergencyStopService: Sendable {
    let sessions: SessionService

    public init(sessions: SessionService) { self.sessions = sessions }

    /// What `stop-all` did.
    public struct StopAllReport: Sendable, Codable, Equatable {
        public var team: String?
        /// Sessions destroyed.
        public var stopped: [String]
        /// Sessions whose teardown failed (they are frozen; retry `stop-all`).
        public var failed: [String]
    }

    /// Emergency stop: refuses new sessions in the scope (persisted, so it holds across restarts), freezes every
    /// matching session at once — nothing keeps running while teardowns proceed — then destroys them all.
    public func stopAll(team: String?, by caller: Caller) async throws -> StopAllReport {
        try caller.authorizeOrg(.admin)
        guard let governance = sessions.governance else {
            throw PaddockError.unavailable("this server's store keeps no org settings")
        }
        if let team, try await governance.access.team(team) == nil {
            throw PaddockError.notFound("team '\(team)' does not exist; `paddock teams list` shows the teams")
        }
        let by = caller.user
        try await governance.access.setEmergencyStop(EmergencyStop(team: team, by: by, at: sessions.clock()))
        try await sessions.orgTrail.record("stop.all", ["team": .optional(team)], by: caller)
        let victims = try await sessions.store.sessions(includeTerminal: false).filter {
            team == nil || $0.team == team
        }
        sessions.logger.warning(
            "emergency stop",
            metadata: ["stop.team": "\(team ?? "*")", "stop.by": "\(by)", "stop.sessions": "\(victims.count)"])
        await withTaskGroup(of: Void.self) { group in
            for s in victims where s.state == .running {
                // Best effort: a session that cannot be frozen is still destroyed below.
                group.addTask {
                    do { _ = try await sessions.pause(s.id, by: caller) } catch {
                        sessions.logger.debug(
                            "could not freeze a session before stopping it",
                            metadata: ["session.id": "\(s.id)", "error": "\(error)"])
                    }
                }
            }
        }
        var report = StopAllReport(team: team, stopped: [], failed: [])
        await withTaskGroup(of: (SessionID, Bool).self) { group in
            for s in victims {
                group.addTask {
                    do {
                        try await sessions.destroy(s.id, reason: "emergency stop by \(by)", by: caller)
                        return (s.id, true)
                    } catch {
                        return (s.id, false)
                    }
                }
            }
            for await (id, ok) in group {
                if ok { report.stopped.append(id.rawValue) } else { report.failed.append(id.rawValue) }
            }
        }
        report.stopped.sort()
        report.failed.sort()
        return report
    }

    /// Lifts the stop of one team, or every stop; returns how many were lifted.
    public func lift(team: String?, by caller: Caller) async throws -> Int {
        try caller.authorizeOrg(.admin)
        guard let governance = sessions.governance else { return 0 }
        let lifted = try await governance.access.liftEmergencyStops(team: team)
        try await sessions.orgTrail.record(
            "stop.lift", ["team": .optional(team), "lifted": .int(Int64(lifted))], by: caller)
        sessions.logger.notice(
            "emergency stop lifted", metadata: ["stop.team": "\(team ?? "*")", "stop.lifted": "\(lifted)"])
        return lifted
    }

    public func stops() async throws -> [EmergencyStop] {
        try await sessions.governance?.access.emergencyStops() ?? []
    }
}
