import Foundation
import PaddockCore
import PaddockStore
import Synchronization

/// The organisation's rules around sessions: emergency stops, org limits and the audit trail. Owned by the
/// `SessionService`, which asks it before a session starts and tells it what happened.
public final class SessionGovernance: Sendable {
    let access: any AccessStore
    public let audit: AuditLog
    /// Sessions admitted but not yet stored, per `team:NAME` / `user:NAME`: counted with the stored ones so two
    /// concurrent creates cannot both take the last slot.
    private let starting = Mutex<[String: Int]>([:])

    public init(access: any AccessStore, audit: AuditLog) {
        self.access = access
        self.audit = audit
    }

    /// A slot held by a session being created; released when the create returns (the session is then stored,
    /// and counted from the store).
    struct Admission: Sendable {
        let keys: [String]
        let governance: SessionGovernance?
        func release() { governance?.release(keys) }
    }

    /// Refuses a session under an emergency stop or beyond an org limit, and applies the max lifetime to its TTL.
    func admit(_ spec: SessionSpec, owner: SessionOwner?, now: Date) async throws -> (SessionSpec, Admission) {
        let stops = try await access.emergencyStops()
        if let stop = stops.first(where: { $0.team == nil || ($0.team != nil && $0.team == owner?.team) }) {
            let scope = stop.team.map { "team '\($0)'" } ?? "every team"
            throw PaddockError.unavailable(
                "an emergency stop of \(scope) by \(stop.by) (since \(Self.format(stop.at))) refuses new sessions; "
                    + "an admin lifts it with `paddock stop-all --lift\(stop.team.map { " --team \($0)" } ?? "")`")
        }
        let limits = try await access.orgLimits()
        var spec = spec
        if let max = limits.maxLifetimeSeconds {
            if let ttl = spec.ttlSeconds, ttl > max {
                throw PaddockError(
                    .resourceExhausted,
                    "ttl \(Self.duration(ttl)) is longer than the max session lifetime of \(Self.duration(max)) "
                        + "(org limit); ask for \(Self.duration(max)) or less")
            }
            spec.ttlSeconds = spec.ttlSeconds ?? max
        }
        guard let owner else { return (spec, Admission(keys: [], governance: nil)) }
        var checks: [LimitCheck] = []
        if let team = owner.team, let max = limits.maxSessionsPerTeam {
            let live = try await access.liveSessionCount(team: team, user: nil)
            checks.append(LimitCheck(key: "team:\(team)", max: max, live: live, what: "team '\(team)'", perTeam: true))
        }
        if let max = limits.maxSessionsPerUser {
            let live = try await access.liveSessionCount(team: nil, user: owner.user)
            checks.append(
                LimitCheck(key: "user:\(owner.user)", max: max, live: live, what: "'\(owner.user)'", perTeam: false))
        }
        let keys = checks.map(\.key)
        try starting.withLock { starting in
            for c in checks where c.live + starting[c.key, default: 0] >= c.max {
                let (limit, flag) =
                    c.perTeam ? ("max sessions per team", "--per-team") : ("max sessions per user", "--per-user")
                throw PaddockError(
                    .resourceExhausted,
                    "\(c.what) already has \(c.live + starting[c.key, default: 0]) live sessions, the \(limit) "
                        + "(org limit \(c.max)); destroy one first, or an admin raises it with `paddock limits set \(flag) N`"
                )
            }
            for key in keys { starting[key, default: 0] += 1 }
        }
        return (spec, Admission(keys: keys, governance: self))
    }

    private struct LimitCheck {
        var key: String
        var max: Int
        var live: Int
        var what: String
        var perTeam: Bool
    }

    private func release(_ keys: [String]) {
        starting.withLock { starting in
            for key in keys {
                starting[key, default: 0] -= 1
                if starting[key] == 0 { starting[key] = nil }
            }
        }
    }

    static func duration(_ seconds: Int64) -> String { DurationText.format(.seconds(seconds)) }

    static func format(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}
