import Foundation

/// What a user asks for when creating a session.
public struct SessionSpec: Codable, Sendable, Equatable, CustomStringConvertible {
    public var name: String?
    public var template: String
    public var provider: String
    /// Environment for every command in the session. Values may be sensitive: never printed.
    public var env: [String: String]
    public var limits: ResourceLimits
    /// Destroyed automatically this long after creation; nil = never.
    public var ttlSeconds: Int64?
    /// Working directory of commands, inside the sandbox.
    public var workdir: String
    /// Paused automatically after this long with no exec, no attached stream and no API call; nil = never.
    public var idleSeconds: Int64?
    /// The snapshot (id or name; stored as the id) whose files the session starts with.
    public var snapshot: String?
    /// The session this one was forked from.
    public var forkOf: SessionID?
    /// The template's base and install layer the sandbox was started on, fixed at creation (a template
    /// rebuilt later does not change a running session, and its old layer is kept while sessions use it).
    public var templateBase: String?
    public var templateLayer: String?
    /// Free-form labels (E2B's sandbox metadata): listed and filtered on, never interpreted.
    public var labels: [String: String]?
    /// Whether in-sandbox traffic of the E2B API resumes the session when it is paused (E2B's
    /// `autoResume`); otherwise such traffic is refused while paused. The /v1 API always resumes.
    public var autoResume: Bool?
    /// When the TTL passes, pause the session (files kept, resumable) instead of destroying it — E2B's
    /// `on_timeout: pause`. A paused session has no deadline until it is resumed with a new one.
    public var pauseOnTimeout: Bool?
    /// Vault secrets the session gets as placeholders in its environment (never the values), by name.
    public var secrets: [String]?
    /// The session layer of the network policy (`--allow`/`--deny`); changed live by `paddock session network`.
    /// nil with no other policy: nothing leaves the sandbox.
    public var network: PolicyRuleSet?
    /// The git repository whose branch is checked out in /workspace (`--repo`, `--branch`), if any.
    public var repository: SessionRepository?
    /// The project the session was started from (`paddock projects`), if any: its runs default to the
    /// project's agent and model. Absent in sessions stored before projects existed.
    public var project: String?
    /// Created through the E2B API with `secure: false`: its code interpreter's context routes answer the
    /// holder of the sandbox id without a credential, as E2B's do. nil (secure) otherwise.
    public var e2bInsecure: Bool?

    public static let defaultTemplate = "host"
    public static let defaultWorkdir = "/workspace"

    public init(
        name: String? = nil, template: String = SessionSpec.defaultTemplate, provider: String = "local",
        env: [String: String] = [:], limits: ResourceLimits = .default, ttlSeconds: Int64? = nil,
        workdir: String = SessionSpec.defaultWorkdir
    ) {
        self.name = name
        self.template = template
        self.provider = provider
        self.env = env
        self.limits = limits
        self.ttlSeconds = ttlSeconds
        self.workdir = workdir
    }

    /// Checks everything a client could get wrong, before anything is created. The bounds are `InputLimits`'s,
    /// so an exec, an E2B create and runtime.yml refuse the same values.
    public func validate() throws(PaddockError) {
        try limits.validate()
        if let name { try InputLimits.checkName(name, field: "name") }
        try InputLimits.checkEnvironment(env, field: "env")
        if let idleSeconds { try InputLimits.checkDeadline(seconds: idleSeconds, field: "idle") }
        if let ttlSeconds { try InputLimits.checkDeadline(seconds: ttlSeconds, field: "ttl") }
        try InputLimits.checkWorkingDirectory(workdir, field: "workdir")
        guard !template.isEmpty, template.utf8.count <= InputLimits.maxNameBytes,
            template.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) })
        else {
            throw .invalidArgument(
                "template name '\(InputLimits.printable(template))' is not valid; use letters, digits, '-', '_', '.' "
                    + "and ':', at most \(InputLimits.maxNameBytes) bytes")
        }
        if let secrets, secrets.count > InputLimits.maxEnvironmentVariables {
            throw .invalidArgument(
                "secrets lists \(secrets.count) names; at most \(InputLimits.maxEnvironmentVariables) are allowed")
        }
    }

    /// Environment keys only: values never become text.
    public var description: String {
        "SessionSpec(name: \(name ?? "-"), template: \(template), provider: \(provider), "
            + "env: [\(env.keys.sorted().joined(separator: ", "))], limits: \(limits), ttl: \(ttlSeconds.map(String.init) ?? "-"))"
    }
}

/// A session as stored and reported.
public struct Session: Codable, Sendable, Equatable, CustomStringConvertible {
    public var id: SessionID
    public var state: SessionState
    public var spec: SessionSpec
    public var createdAt: Date
    public var updatedAt: Date
    public var expiresAt: Date?
    /// Why the session failed or was destroyed, when it was not a user's request.
    public var reason: String?
    /// How the sandbox was started: `warm` (claimed from a pool) or `cold`, with why no warm one was used.
    public var start: String?
    /// The policy the session runs under, when it was given one (`--policy`, org policy).
    public var policy: SessionPolicy?
    /// The team the session belongs to (nil: none; only admins see it) and the user who created it.
    public var team: String?
    public var createdBy: String?

    public init(
        id: SessionID, state: SessionState, spec: SessionSpec, createdAt: Date, updatedAt: Date, expiresAt: Date?,
        reason: String? = nil
    ) {
        self.id = id
        self.state = state
        self.spec = spec
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.expiresAt = expiresAt
        self.reason = reason
    }

    public var description: String { "Session(\(id), \(state.rawValue), \(spec))" }
}
