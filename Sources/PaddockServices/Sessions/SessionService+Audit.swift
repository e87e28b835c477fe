import Foundation
import PaddockCore
import PaddockSandbox
import PaddockStore

extension SessionService {
    /// The not-found error for a session; also what a caller gets for another team's session.
    public static func missing(_ id: SessionID) -> PaddockError {
        .notFound("session \(id) does not exist; `paddock session list` shows the live ones")
    }

    /// The audit trail of every session, when the store keeps one.
    public nonisolated var audit: AuditLog? { governance?.audit }

    /// The organisation's own audit trail (people, teams, tokens, limits, secrets, templates, pools, stops).
    public nonisolated var orgTrail: OrgTrail { OrgTrail(audit: governance?.audit) }

    /// Records an event attributed to `caller`, durably, before returning: the caller hears of the action only
    /// once the trail shows it.
    func record(_ id: SessionID, _ kind: String, _ fields: [String: AuditValue], by caller: Caller) async throws {
        guard let audit = governance?.audit else { return }
        try await audit.record(session: id, kind: kind, actor: caller.actor, fields: fields)
    }

    /// Code the caller runs in a session's code interpreter (E2B's `/execute`): in the trail as an exec's argv
    /// is, cut at 16 KiB with its whole size.
    public func recordCodeExecution(_ id: SessionID, context: String, code: String, by caller: Caller) async throws {
        try await record(
            id, "code.execute",
            [
                "context": .string(context),
                "code": .string(String(decoding: code.utf8.prefix(16 << 10), as: UTF8.self)),
                "bytes": .int(Int64(code.utf8.count)),
            ], by: caller)
    }

    /// Whether the vault holds a secret of this name for `team` (or the whole org).
    public func isVaultSecret(_ name: String, team: String?) async -> Bool {
        guard let vault = network?.vault else { return false }
        return await vault.has(name: name, team: team)
    }

    /// `session.create`, with what was asked for. Environment variables by name only.
    func recordCreate(_ s: Session, by caller: Caller) async throws {
        let spec = s.spec
        var fields: [String: AuditValue] = [
            "template": .string(spec.template), "provider": .string(spec.provider), "team": .optional(s.team),
            "memory": .string(spec.limits.memory.description), "cpus": .string(String(spec.limits.cpus)),
            "pids": .int(Int64(spec.limits.pids)), "disk": .string(spec.limits.disk.description),
            "workdir": .string(spec.workdir), "env_keys": .strings(spec.env.keys.sorted()),
            "start": .optional(s.start.map { $0.hasPrefix("cold") ? "cold" : $0 }),
        ]
        if let name = spec.name { fields["name"] = .string(name) }
        if let ttl = spec.ttlSeconds { fields["ttl_s"] = .int(ttl) }
        if let idle = spec.idleSeconds { fields["idle_s"] = .int(idle) }
        if let project = spec.project { fields["project"] = .string(project) }
        try await record(s.id, "session.create", fields, by: caller)
    }

    /// Admission before a create: emergency stops, org limits, max lifetime.
    func admit(_ spec: SessionSpec, owner: SessionOwner?) async throws -> (SessionSpec, SessionGovernance.Admission) {
        guard let governance else { return (spec, .init(keys: [], governance: nil)) }
        return try await governance.admit(spec, owner: owner, now: clock())
    }

    /// Wraps an exec so its outcome is in the audit trail before the caller sees the exit.
    func audited(
        _ handle: any ExecHandle, _ id: SessionID, _ request: ExecRequest, envKeys: [String], by caller: Caller
    ) -> any ExecHandle {
        guard let audit = governance?.audit else { return handle }
        var fields: [String: AuditValue] = [
            "argv": .strings(request.argv), "cwd": .string(request.cwd), "user": .string(request.user.rawValue),
        ]
        if !envKeys.isEmpty { fields["env_keys"] = .strings(envKeys.sorted()) }
        if let tag = request.tag { fields["tag"] = .string(tag) }
        return AuditedExecHandle(
            handle, audit: audit, session: id, actor: caller.actor, fields: fields, logger: logger)
    }
}
