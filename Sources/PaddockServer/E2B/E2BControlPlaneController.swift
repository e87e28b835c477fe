import Foundation
import Hummingbird
import PaddockCore
import PaddockSandbox
import PaddockServices

/// E2B's control-plane REST API over Paddock sessions: a sandbox is a session, created, listed, paused,
/// resumed and destroyed through `SessionService`, so it shows up in `paddock session list` too.
struct E2BControlPlaneController {
    let sessions: SessionService
    var snapshots: SnapshotService { SnapshotService(sessions: sessions) }
    var templates: TemplateService { TemplateService(sessions: sessions) }
    let authorizer: RouteAuthorizer
    let accessTokens: E2BAccessTokens
    /// Where the sandboxes' ports are served (`get_host`), as `domain[:port]`.
    var previewDomain: @Sendable () -> String? = { nil }
    /// Largest page of a list.
    static let maxPageSize = 100

    func addRoutes(to router: Router<E2BRequestContext>) {
        router.post("/sandboxes", use: create)
        router.post("/v2/sandboxes", use: create)
        router.get("/sandboxes", use: listV1)
        router.get("/v2/sandboxes", use: list)
        router.get("/sandboxes/:id", use: get)
        router.delete("/sandboxes/:id", use: kill)
        router.post("/sandboxes/:id/timeout", use: setTimeout)
        router.post("/sandboxes/:id/refreshes", use: refresh)
        router.put("/sandboxes/:id/network", use: updateNetwork)
        router.post("/sandboxes/:id/pause", use: pause)
        router.post("/sandboxes/:id/resume", use: connect)
        router.post("/sandboxes/:id/connect", use: connect)
        router.post("/v2/sandboxes/:id/connect", use: connect)
        router.get("/sandboxes/:id/metrics", use: metrics)
        router.post("/sandboxes/:id/snapshots", use: snapshot)
        router.get("/snapshots", use: snapshots)
        router.post("/sandboxes/:id/fork", use: fork)
        router.delete("/templates/:id", use: deleteTemplate)
        router.get("/templates/aliases/:alias", use: alias)
    }

    // MARK: Lifecycle

    @Sendable func create(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let body = try await request.decode(as: E2B.NewSandbox.self, context: context)
        let principal = try context.requirePrincipal()
        // Named as the SDK calls them; the spec checks the same bounds again as `ttl` and `env`.
        if let timeout = body.timeout { try InputLimits.checkDeadline(seconds: timeout, field: "timeout") }
        try InputLimits.checkEnvironment(body.envVars ?? [:], field: "envVars")
        let team = try await authorizer.teamForCreate(principal, requested: nil)
        // A snapshot's id (or name) as the template starts the sandbox from that snapshot's files — if the
        // caller may read it; another team's snapshot is treated as an unknown template.
        // Only "no such snapshot" means the id names a template: a store that cannot answer refuses the create.
        let snapshot: Snapshot?
        do { snapshot = try await snapshots.get(body.templateID, for: Caller(principal), needs: .read) } catch let e
            as PaddockError where e.code == .notFound
        {
            snapshot = nil
        }
        let template: String
        if let snapshot { template = snapshot.template } else { template = try await paddockTemplate(body.templateID) }
        var spec = SessionSpec(
            name: "e2b:\(body.templateID)",
            template: template,
            env: body.envVars ?? [:], ttlSeconds: body.timeout ?? E2B.defaultTimeout, workdir: SandboxLayout.home)
        spec.snapshot = snapshot?.id
        // An env var named after a vault secret gets the secret's placeholder, never a value: whatever value
        // the client sent (frameworks forward their own keys) is dropped, and the gateway injects the vault's.
        for name in spec.env.keys.sorted() where await sessions.isVaultSecret(name, team: team) {
            spec.env[name] = nil
            spec.secrets = (spec.secrets ?? []) + [name]
        }
        try Self.validate(metadata: body.metadata ?? [:])
        spec.labels = body.metadata
        spec.autoResume = body.autoResume?.enabled
        if body.autoPause == true { spec.pauseOnTimeout = true }
        if body.secure == false { spec.e2bInsecure = true }
        let session = try await sessions.create(
            spec, owner: SessionOwner(team: team, user: principal.user), by: Caller(principal))
        await grantSudo(session, context)
        return E2BErrorMiddleware.json(.created, await sandbox(session, templateID: body.templateID, request))
    }

    /// Connect (and the older resume): resumes a paused sandbox (201) or confirms a running one (200). Its
    /// deadline moves to `timeout` seconds from now when that is later: as on E2B, connecting never shortens
    /// a sandbox's life (a running one without a deadline keeps none).
    @Sendable func connect(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let body = try await request.decode(as: E2B.ConnectSandbox.self, context: context)
        var session = try await find(context)
        let resumed = session.state == .paused
        if resumed { session = try await sessions.ensureRunning(session.id, by: try context.caller()) }
        guard session.state == .running else {
            throw PaddockError.conflict("sandbox \(session.id) is \(session.state.rawValue); it cannot be connected to")
        }
        let wanted = body.timeout ?? E2B.defaultTimeout
        if resumed {
            session = try await sessions.setDeadline(session.id, seconds: wanted, by: try context.caller())
        } else if let expiresAt = session.expiresAt, expiresAt.timeIntervalSinceNow < Double(wanted) {
            session = try await sessions.setDeadline(session.id, seconds: wanted, by: try context.caller())
        }
        return E2BErrorMiddleware.json(resumed ? .created : .ok, await sandbox(session, request))
    }

    @Sendable func kill(_ request: Request, context: E2BRequestContext) async throws -> HTTPResponse.Status {
        let session = try await find(context)
        try await sessions.destroy(session.id, reason: "killed through the E2B API", by: try context.caller())
        await accessTokens.forget(sandbox: session.id.rawValue)
        return .noContent
    }

    @Sendable func pause(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let session = try await find(context)
        if session.state == .paused {
            return E2BErrorMiddleware.json(
                .conflict, E2B.ErrorBody(code: 409, message: "sandbox \(session.id) is already paused"))
        }
        // E2B's pause keeps the sandbox whole and holds no memory while it waits: where the provider can (gVisor)
        // it goes to disk, processes included; elsewhere it is frozen in memory, processes kept all the same.
        try await sessions.pauseReleasingMemory(session.id, by: try context.caller())
        // A paused E2B sandbox keeps until it is resumed or killed; its timeout starts again on resume.
        try await sessions.setDeadline(session.id, seconds: nil, by: try context.caller())
        return Response(status: .noContent)
    }

    @Sendable func setTimeout(_ request: Request, context: E2BRequestContext) async throws -> HTTPResponse.Status {
        let body = try await request.decode(as: E2B.TimeoutRequest.self, context: context)
        let session = try await find(context)
        try await sessions.setDeadline(session.id, seconds: body.timeout, by: try context.caller())
        return .noContent
    }

    /// `update_network`: the sandbox's egress rules become the session layer of its network policy, replaced
    /// whole as E2B does, through the gateway at once and audited as `session.network`. The org, team and
    /// repository layers still decide first, so an update narrows what they allow and never widens it.
    @Sendable func updateNetwork(_ request: Request, context: E2BRequestContext) async throws
        -> HTTPResponse.Status
    {
        let body = try await request.decode(as: E2B.NetworkUpdate.self, context: context)
        let session = try await find(context)
        let rules = try E2B.networkRules(body)
        _ = try await sessions.changeNetwork(
            session.id, allow: rules.allow, deny: rules.deny, replace: true, defaultAction: rules.defaultAction,
            by: try context.caller())
        return .noContent
    }

    @Sendable func refresh(_ request: Request, context: E2BRequestContext) async throws -> HTTPResponse.Status {
        let session = try await find(context)
        if let expiresAt = session.expiresAt {
            let left = Int64(max(expiresAt.timeIntervalSinceNow, 0))
            try await sessions.setDeadline(session.id, seconds: max(left, E2B.defaultTimeout), by: try context.caller())
        }
        return .noContent
    }

    /// A snapshot of the sandbox; a sandbox created with the snapshot's id as its template starts from it. As on
    /// E2B it keeps the running processes too where the sandbox's provider can (gVisor), and its files elsewhere;
    /// `keeps` (a Paddock extension: `files` or `processes`) asks for one, and `processes` is refused, saying why,
    /// where the provider cannot keep them. Unasked, a sandbox whose processes cannot be kept right now (a command
    /// stream attached, a host where gVisor's checkpoint fails) gets its files kept, as before there was a choice.
    @Sendable func snapshot(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let body = try await request.decode(as: E2B.SnapshotRequest.self, context: context)
        let session = try await find(context)
        let caller = try context.caller()
        func created(_ keeps: Snapshot.Keeps) async throws -> Response {
            let snapshot = try await snapshots.take(session.id, name: body.name, keeps: keeps, by: caller)
            return E2BErrorMiddleware.json(.created, E2B.SnapshotInfo(snapshot))
        }
        if let asked = body.keeps { return try await created(try Snapshot.Keeps(parsing: asked)) }
        guard sessions.keepsProcesses(provider: session.spec.provider) else { return try await created(.files) }
        do { return try await created(.processes) } catch let e as PaddockError
            where [.conflict, .resourceExhausted, .unavailable, .internal, .timeout].contains(e.code)
        {
            context.logger.warning(
                "a snapshot keeps the sandbox's files only: its processes could not be kept",
                metadata: ["session.id": "\(session.id)", "error": "\(e.message)"])
            return try await created(.files)
        }
    }

    @Sendable func snapshots(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let sandbox = request.uri.queryParameters.get("sandboxID")
        let name = request.uri.queryParameters.get("name")
        let visible = try await snapshots.list(for: try context.caller()).filter {
            (sandbox == nil || $0.session.rawValue == sandbox) && (name == nil || $0.name == name || $0.id == name)
        }
        return E2BErrorMiddleware.json(.ok, visible.map(E2B.SnapshotInfo.init))
    }

    /// A snapshot is E2B's template of a sandbox: `Sandbox.delete_snapshot` deletes it here (by id or name).
    /// A template built through `Template.build` is deleted as `paddock template rm` does it (for admins).
    @Sendable func deleteTemplate(_ request: Request, context: E2BRequestContext) async throws -> HTTPResponse.Status {
        let id = context.parameters.get("id") ?? ""
        do { _ = try await snapshots.delete(id, by: try context.caller()) } catch let e as PaddockError
            where e.code == .notFound
        {
            guard !E2B.isTemplateName(id), try await builtTemplate(id) != nil else {
                throw PaddockError.notFound(
                    "template \(id) not found; Sandbox.list_snapshots() shows the snapshots, "
                        + "`paddock template list` the templates")
            }
            try await templates.remove(id, by: try context.caller())
        }
        return .noContent
    }

    /// The Paddock template a create names: E2B's aliases, then templates built on this server (`name:tag` with
    /// one of its tags, or `default`).
    func paddockTemplate(_ e2bName: String) async throws -> String {
        if E2B.isTemplateName(e2bName) { return try E2B.paddockTemplate(e2bName) }
        if let built = try await builtTemplate(e2bName) { return built.name }
        return try E2B.paddockTemplate(e2bName)
    }

    /// A template built on this server under this name (or `name:tag`); nil when there is none. A store that
    /// cannot answer is an error the caller sees, not "no such template".
    func builtTemplate(_ e2bName: String) async throws -> Template? {
        let (name, tag) = E2BTemplateController.split(e2bName)
        // A name no template could have (a snapshot id, say) is simply not a template's.
        do { try TemplateSpec.validate(name: name) } catch { return nil }
        guard name != SessionSpec.defaultTemplate else { return nil }
        let template: Template
        do { template = try await templates.get(name) } catch let error as PaddockError where error.code == .notFound {
            return nil
        }
        // A template keeps one version: a tag names it or names nothing.
        if let tag, tag != "default", !(template.tags ?? []).contains(tag) { return nil }
        return template
    }

    /// `Template.exists(name)`: the template names a sandbox can be created from (E2B's aliases, Paddock's
    /// default template, and snapshots the caller may read).
    @Sendable func alias(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let name = context.parameters.get("alias") ?? ""
        if !E2B.isTemplateName(name), try await builtTemplate(name) == nil {
            do { _ = try await snapshots.get(name, for: try context.caller(), needs: .read) } catch let e
                as PaddockError where e.code == .notFound
            {
                throw PaddockError.notFound("template '\(name)' does not exist on this server")
            }
        }
        return E2BErrorMiddleware.json(.ok, E2B.TemplateAlias(templateID: name, public: true))
    }

    /// Forks: new sandboxes with the sandbox's current files, each with its own copy (and its running processes
    /// with `keeps: processes`, gVisor sandboxes).
    @Sendable func fork(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let body = try await request.decode(as: E2B.ForkRequest.self, context: context)
        // Checked before any child exists, so a bad timeout leaves no fork behind.
        if let timeout = body.timeout { try InputLimits.checkDeadline(seconds: timeout, field: "timeout") }
        let parent = try await find(context)
        let children = try await snapshots.fork(
            parent.id, count: body.count ?? 1, keeps: try Snapshot.Keeps(parsing: body.keeps ?? "files"),
            by: try context.caller())
        var results: [E2B.ForkResult] = []
        for child in children {
            let timed = try await sessions.setDeadline(
                child.id, seconds: body.timeout ?? E2B.defaultTimeout, by: try context.caller())
            await grantSudo(timed, context)
            results.append(E2B.ForkResult(sandbox: await sandbox(timed, request)))
        }
        return E2BErrorMiddleware.json(.created, results)
    }

    /// E2B's base template gives its user a passwordless `sudo`; so do the sandboxes made here over Paddock's
    /// `host` template (`base`, `code-interpreter-v1`, and snapshots and forks of those). Other templates are
    /// the team's own, and get it only if they install it. A sandbox whose sudo cannot be enabled still works
    /// without it (nothing is opened), and the log says why.
    private func grantSudo(_ session: Session, _ context: E2BRequestContext) async {
        guard session.spec.template == SessionSpec.defaultTemplate else { return }
        do { try await sessions.enableSudo(session.id, by: try context.caller()) } catch {
            context.logger.warning(
                "the sandbox runs without sudo: enabling it failed",
                metadata: ["session.id": "\(session.id)", "error": "\(error)"])
        }
    }

    // MARK: Reading

    @Sendable func get(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let session = try await find(context, .read)
        return E2BErrorMiddleware.json(.ok, Self.detail(session, accessToken: Self.accessToken(request, session)))
    }

    @Sendable func listV1(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var all = try await sessions.list(includeEnded: false).filter {
            Self.state($0) != nil && principal.canSee(team: $0.team)
        }
        if let filter = request.uri.queryParameters.get("metadata") {
            let wanted = Self.parseMetadataQuery(filter)
            all = all.filter { Self.matches($0, wanted) }
        }
        return E2BErrorMiddleware.json(.ok, all.map { Self.detail($0, accessToken: nil) })
    }

    @Sendable func list(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let states = Set(
            (query.get("state") ?? "running,paused").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            })
        let wanted = query.get("metadata").map(Self.parseMetadataQuery) ?? [:]
        let limitText = query.get("limit") ?? String(Self.maxPageSize)
        guard let limit = Int(limitText), (1...Self.maxPageSize).contains(limit) else {
            throw PaddockError.invalidArgument("limit must be 1 to \(Self.maxPageSize), not '\(limitText)'")
        }
        let template = query.get("template").flatMap { $0.isEmpty ? nil : $0 }
        let startedAfter = try query.get("startedAfter").flatMap { $0.isEmpty ? nil : $0 }.map {
            guard let date = E2B.parseRFC3339($0) else {
                throw PaddockError.invalidArgument("startedAfter '\($0)' is not an RFC 3339 time")
            }
            return date
        }
        let principal = try context.requirePrincipal()
        var all = try await sessions.list(includeEnded: false).filter {
            guard let state = Self.state($0), principal.canSee(team: $0.team) else { return false }
            // Compared at the millisecond precision startedAt is reported with, so a sandbox's own startedAt
            // includes it.
            if let startedAfter, E2B.milliseconds($0.createdAt) < E2B.milliseconds(startedAfter) { return false }
            return states.contains(state) && Self.matches($0, wanted)
                && (template == nil || Self.templateName($0) == template || $0.spec.template == template)
        }
        // Newest first unless asked otherwise (the store lists newest first).
        if query.get("order")?.lowercased() == "asc" { all.reverse() }
        var start = 0
        if let token = query.get("nextToken"), !token.isEmpty {
            // The token is the id of the first sandbox of the next page.
            guard let index = all.firstIndex(where: { $0.id.rawValue == token }) else {
                throw PaddockError.invalidArgument("nextToken '\(token)' is not valid (any more); list from the start")
            }
            start = index
        }
        let page = Array(all[start..<min(start + limit, all.count)])
        var response = E2BErrorMiddleware.json(.ok, page.map { Self.detail($0, accessToken: nil) })
        if start + limit < all.count, let next = HTTPFields.Element.Name("x-next-token") {
            response.headers[next] = all[start + limit].id.rawValue
        }
        return response
    }

    @Sendable func metrics(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let session = try await find(context, .read)
        guard session.state == .running else { return E2BErrorMiddleware.json(.ok, [E2B.SandboxMetric]()) }
        // One metric is measured now: a window (Unix seconds) that ends before the sandbox started or starts
        // after now has none.
        let query = request.uri.queryParameters
        let asked = Date().timeIntervalSince1970
        let none = E2BErrorMiddleware.json(.ok, [E2B.SandboxMetric]())
        if let end = query.get("end").flatMap(Double.init), end < session.createdAt.timeIntervalSince1970.rounded(.down)
        {
            return none
        }
        if let start = query.get("start").flatMap(Double.init), start > asked.rounded(.up) { return none }
        // CPU use is the cgroup's CPU time over a short window.
        let first = try await sessions.stats(session.id, by: try context.caller())
        let window = Duration.milliseconds(200)
        let started = ContinuousClock.now
        try await Task.sleep(for: window)
        let second = try await sessions.stats(session.id, by: try context.caller())
        let elapsed = ContinuousClock.now - started
        let elapsedNanos = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        let cpus = max(session.spec.limits.cpus, 0.01)
        let used = Double(second.cpuNanoseconds &- first.cpuNanoseconds)
        let pct = min(max(used / (elapsedNanos * cpus) * 100, 0), 100)
        let now = Date()
        let metric = E2B.SandboxMetric(
            timestamp: E2B.rfc3339(now), timestampUnix: Int64(now.timeIntervalSince1970),
            cpuCount: Self.cpuCount(session), cpuUsedPct: (pct * 100).rounded() / 100,
            memUsed: Int64(clamping: second.memoryBytes), memTotal: Int64(clamping: second.memoryLimitBytes),
            memCache: 0, diskUsed: Int64(clamping: second.diskUsedBytes),
            diskTotal: Int64(clamping: second.diskLimitBytes))
        return E2BErrorMiddleware.json(.ok, [metric])
    }

    // MARK: Mapping

    /// What create, connect and fork answer. The in-sandbox credentials are the caller's own key naming the
    /// sandbox (`E2BAccessToken`): the SDK sends it back as `X-Access-Token` (envd) and `E2B-Traffic-Access-Token`
    /// (the code interpreter's `/contexts`), and signs file URLs with it.
    private func sandbox(_ session: Session, templateID: String? = nil, _ request: Request) async -> E2B.Sandbox {
        let key = Self.accessToken(request, session)
        await accessTokens.record(sandbox: session.id.rawValue, token: key)
        return E2B.Sandbox(
            templateID: templateID ?? Self.templateName(session), sandboxID: session.id.rawValue,
            envdAccessToken: key, trafficAccessToken: session.spec.e2bInsecure == true ? nil : key,
            domain: previewDomain())
    }

    /// The live session a path names; 404 in E2B's shape for ids that are malformed, unknown, ended or of a
    /// team the caller is not in. Reading needs `read` on the sandbox's team, anything else `write`.
    private func find(_ context: E2BRequestContext, _ permission: Permission = .write) async throws -> Session {
        let text = context.parameters.get("id") ?? ""
        let missing = PaddockError.notFound("sandbox \(text) not found; Sandbox.list() shows the live ones")
        guard let id = SessionID(rawValue: text) else { throw missing }
        let session: Session
        do { session = try await sessions.get(id, for: try context.caller(), needs: permission) } catch let e
            as PaddockError where e.code == .notFound
        {
            throw missing
        }
        guard session.state.holdsResources, session.state != .destroying else { throw missing }
        return session
    }

    static func state(_ session: Session) -> String? {
        switch session.state {
        case .creating, .running: "running"
        case .paused: "paused"
        default: nil
        }
    }

    static func templateName(_ session: Session) -> String {
        session.spec.name.flatMap { $0.hasPrefix("e2b:") ? String($0.dropFirst(4)) : nil } ?? "base"
    }

    static func cpuCount(_ session: Session) -> Int { max(Int(session.spec.limits.cpus.rounded(.up)), 1) }

    static func detail(_ session: Session, accessToken: String?) -> E2B.SandboxDetail {
        let end = session.expiresAt ?? session.createdAt.addingTimeInterval(10 * 365 * 86_400)
        return E2B.SandboxDetail(
            templateID: templateName(session), sandboxID: session.id.rawValue,
            startedAt: E2B.rfc3339(session.createdAt),
            endAt: E2B.rfc3339(end), cpuCount: cpuCount(session),
            memoryMB: Int(session.spec.limits.memory.bytes >> 20),
            diskSizeMB: Int(session.spec.limits.disk.bytes >> 20),
            metadata: session.spec.labels ?? [:], state: state(session) ?? "running", envdAccessToken: accessToken)
    }

    /// The SDK sends the metadata filter as one url-encoded `k=v&k2=v2` string.
    static func parseMetadataQuery(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            guard let key = parts.first, !key.isEmpty else { continue }
            out[key] = parts.count > 1 ? parts[1] : ""
        }
        return out
    }

    static func matches(_ session: Session, _ wanted: [String: String]) -> Bool {
        let labels = session.spec.labels ?? [:]
        return wanted.allSatisfy { labels[$0.key] == $0.value }
    }

    static func validate(metadata: [String: String]) throws(PaddockError) {
        guard metadata.count <= 64 else { throw .invalidArgument("metadata has \(metadata.count) keys; at most 64") }
        for (key, value) in metadata where key.isEmpty || key.count > 256 || value.count > 4096 {
            throw .invalidArgument("metadata keys must be 1 to 256 characters and values at most 4096")
        }
    }

    static func accessToken(_ request: Request, _ session: Session) -> String? {
        (request.header("x-api-key") ?? request.header("x-access-token")).map {
            E2BAccessToken.make(key: $0, sandbox: session.id.rawValue)
        }
    }
}
