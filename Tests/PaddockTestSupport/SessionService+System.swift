import PaddockAPI
import PaddockCore
import PaddockSandbox
import PaddockServer
import PaddockServices

/// Tests that exercise a service's own behaviour act as Paddock itself; the doors always name a caller (and
/// the route-audit test checks they do). Only tests see these.
extension SessionService {
    public func create(_ spec: SessionSpec, policy: PolicyText? = nil, owner: SessionOwner? = nil) async throws
        -> Session
    {
        try await create(spec, policy: policy, owner: owner, by: .system)
    }

    @discardableResult
    public func destroy(_ id: SessionID, reason: String? = nil) async throws -> Session {
        try await destroy(id, reason: reason, by: .system)
    }

    @discardableResult
    public func pause(_ id: SessionID) async throws -> Session { try await pause(id, by: .system) }

    @discardableResult
    public func resume(_ id: SessionID) async throws -> Session { try await resume(id, by: .system) }

    public func stats(_ id: SessionID) async throws -> SandboxStats { try await stats(id, by: .system) }

    public func snapshot(_ id: SessionID, name: String?, keeps: Snapshot.Keeps = .files) async throws -> Snapshot {
        try await SnapshotService(sessions: self).take(id, name: name, keeps: keeps, by: .system)
    }

    public func fork(_ id: SessionID, count: Int, keeps: Snapshot.Keeps = .files) async throws -> [Session] {
        try await SnapshotService(sessions: self).fork(id, count: count, keeps: keeps, by: .system)
    }

    @discardableResult
    public func deleteSnapshot(_ idOrName: String) async throws -> Snapshot {
        try await SnapshotService(sessions: self).delete(idOrName, by: .system)
    }

    public func snapshotRecord(_ idOrName: String) async throws -> Snapshot {
        try await SnapshotService(sessions: self).get(idOrName)
    }

    public func collectLayers() async { await SnapshotService(sessions: self).collectLayers() }

    public func diff(_ id: SessionID) async throws -> ChangeDiff {
        try await ChangeService(sessions: self).diff(id, by: .system)
    }

    public func submit(_ id: SessionID, message: String?, branch: String?, by user: String?) async throws
        -> SubmitBody
    {
        SubmitBody(
            try await ChangeService(sessions: self).submit(
                id, message: message, branch: branch, by: TestCaller.named(user)))
    }

    public func approveReview(_ id: String, by user: String?, note: String?) async throws -> Review {
        try await ReviewService(sessions: self).approve(id, note: note, by: TestCaller.named(user))
    }

    public func rejectReview(_ id: String, by user: String?, note: String?) async throws -> Review {
        try await ReviewService(sessions: self).reject(id, note: note, by: TestCaller.named(user))
    }

    public func review(_ id: String) async throws -> Review { try await ReviewService(sessions: self).get(id) }

    public func changeNetwork(_ id: SessionID, allow: [String], deny: [String], replace: Bool) async throws
        -> PolicyRuleSet
    {
        try await changeNetwork(id, allow: allow, deny: deny, replace: replace, by: .system)
    }

    public func buildTemplate(
        _ spec: TemplateSpec, provider: String = "local", progress: @escaping @Sendable (String) async -> Void
    ) async throws -> TemplateService.TemplateBuild {
        try await TemplateService(sessions: self).build(spec, provider: provider, by: .system, progress: progress)
    }

    @discardableResult
    public func removeTemplate(_ name: String) async throws -> Template {
        try await TemplateService(sessions: self).remove(name, by: .system)
    }

    @discardableResult
    public func setPool(provider: String, template: String, size: Int) async throws -> PoolStatus {
        try await WarmPoolService(sessions: self).set(provider: provider, template: template, size: size, by: .system)
    }

    /// One round of the pool service's refill, run by the test when it wants it.
    public func refillPools() async { await WarmPoolService(sessions: self).refill() }

    public func pools() async throws -> [PoolStatus] { try await WarmPoolService(sessions: self).list() }

    public func reviews(session: SessionID? = nil, all: Bool = false) async throws -> [Review] {
        try await ReviewService(sessions: self).list(session: session, all: all, for: .system)
    }

    public func reviewDetail(_ id: String) async throws -> ReviewDetailBody {
        ReviewDetailBody(try await ReviewService(sessions: self).detail(id, for: .system))
    }
}

/// A caller for tests that name a person without a token: an owner, so only the name differs from `system`.
public enum TestCaller {
    public static func named(_ user: String?) -> Caller {
        guard let user else { return .system }
        return Caller(
            Principal(user: user, role: .owner, tokenID: "test", scopes: Set(Permission.allCases), teams: [:]))
    }
}

extension RunService {
    /// Starts a run as the named person (an owner), or as Paddock itself.
    public func start(
        session id: SessionID, prompt: String, agent: String? = nil, model: String? = nil, by who: String? = nil
    ) async throws -> Run {
        try await start(session: id, prompt: prompt, agent: agent, model: model, by: TestCaller.named(who))
    }

    @discardableResult
    public func cancel(_ id: String, by who: String? = nil) async throws -> Run {
        try await cancel(id, by: TestCaller.named(who))
    }
}

extension ApprovalService {
    /// Answers as the named person (an owner, so any team's request).
    public func answer(id: String, approve: Bool, by who: String, note: String?) async throws -> Approval {
        try await answer(id: id, approve: approve, note: note, by: TestCaller.named(who), team: nil)
    }
}
