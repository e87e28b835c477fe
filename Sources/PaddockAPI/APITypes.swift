import Foundation
import PaddockCore

// The `/v1` API's request and response bodies. JSON keys are snake_case (the context's coders convert).
// The CLI uses these same types, so client and server cannot drift apart.

/// `POST /v1/sessions`.
public struct CreateSessionBody: Codable, Sendable {
    public var name: String?
    public var template: String?
    public var provider: String?
    public var env: [String: String]?
    public var memory: String?
    public var cpus: Double?
    public var pids: Int?
    public var disk: String?
    /// Destroy the session this long after creation (`30m`, `2h`).
    public var ttl: String?
    /// Pause the session after this long without activity (`10m`); any later call resumes it.
    public var idle: String?
    public var workdir: String?
    /// Start with the files of this snapshot (id or name).
    public var snapshot: String?
    /// A runtime.yml for this session; the server parses, validates and layers it under the org's policy.
    public var policy: PolicyText?
    /// Vault secrets to give the session as placeholders.
    public var secrets: [String]?
    /// Network rules of the session layer: hosts, `*.suffix`, `host:port`, CIDR blocks.
    public var allow: [String]?
    public var deny: [String]?
    /// The team the session belongs to; default: the caller's only team.
    public var team: String?
    /// A git repository (URL, or an absolute path on the server's host) cloned by the server, whose `branch`
    /// is checked out in /workspace.
    public var repo: String?
    public var branch: String?

    public init(
        name: String? = nil, template: String? = nil, provider: String? = nil, env: [String: String]? = nil,
        memory: String? = nil, cpus: Double? = nil, pids: Int? = nil, disk: String? = nil, ttl: String? = nil,
        workdir: String? = nil, idle: String? = nil, snapshot: String? = nil
    ) {
        self.snapshot = snapshot
        self.idle = idle
        self.name = name
        self.template = template
        self.provider = provider
        self.env = env
        self.memory = memory
        self.cpus = cpus
        self.pids = pids
        self.disk = disk
        self.ttl = ttl
        self.workdir = workdir
    }

    /// The validated spec; every bad field is reported with what to write instead.
    public func spec() throws(PaddockError) -> SessionSpec {
        var limits = ResourceLimits.default
        func field<T>(_ name: String, _ parse: () throws(PaddockError) -> T) throws(PaddockError) -> T {
            do { return try parse() } catch { throw .invalidArgument("\(name): \(error.message)") }
        }
        if let memory {
            limits.memory = try field("memory") { () throws(PaddockError) in try ByteSize(parsing: memory) }
        }
        if let disk { limits.disk = try field("disk") { () throws(PaddockError) in try ByteSize(parsing: disk) } }
        if let cpus { limits.cpus = cpus }
        if let pids { limits.pids = pids }
        let ttlSeconds = try ttl.map { (t: String) throws(PaddockError) -> Int64 in
            let d = try field("ttl") { () throws(PaddockError) in try DurationText.parse(t) }
            guard d >= .seconds(1) else { throw .invalidArgument("ttl '\(t)' is shorter than one second") }
            return Int64(d.seconds.rounded(.up))
        }
        let idleSeconds = try idle.map { (t: String) throws(PaddockError) -> Int64 in
            let d = try field("idle") { () throws(PaddockError) in try DurationText.parse(t) }
            guard d >= .seconds(1) else { throw .invalidArgument("idle '\(t)' is shorter than one second") }
            return Int64(d.seconds.rounded(.up))
        }
        var spec = SessionSpec(
            name: name, template: template ?? SessionSpec.defaultTemplate, provider: provider ?? "local",
            env: env ?? [:], limits: limits, ttlSeconds: ttlSeconds, workdir: workdir ?? SessionSpec.defaultWorkdir)
        spec.idleSeconds = idleSeconds
        spec.snapshot = snapshot
        if let repo {
            guard let branch else {
                throw .invalidArgument("a repository session needs a branch; pass --branch with the branch to work on")
            }
            let repository = SessionRepository(url: repo, branch: branch)
            try repository.validate()
            spec.repository = repository
        } else if branch != nil {
            throw .invalidArgument("--branch needs --repo: the branch of which repository?")
        }
        try applyNetwork(to: &spec)
        try spec.validate()
        return spec
    }
}

/// A session as the API reports it. Environment values are never returned, only their names.
public struct SessionBody: Codable, Sendable, Equatable {
    public struct Limits: Codable, Sendable, Equatable {
        public var memory: String
        public var cpus: Double
        public var pids: Int
        public var disk: String
    }
    public var id: String
    public var name: String?
    public var state: String
    public var template: String
    public var provider: String
    public var workdir: String
    public var envKeys: [String]
    public var limits: Limits
    public var createdAt: Date
    public var updatedAt: Date
    public var expiresAt: Date?
    public var reason: String?
    /// `warm` (claimed from a pool) or `cold: …` with why no warm sandbox was used.
    public var start: String?
    /// The snapshot the session started from.
    public var snapshot: String?
    /// The session it was forked from.
    public var forkOf: String?
    /// Every guardrail and limit in force, with where it was written; nil without a policy.
    public var policy: [String]?
    public var policyNotes: [String]?
    /// A process of the session is blocked until someone answers an approval (`paddock approvals list`).
    public var awaitingApproval: Bool?
    public var team: String?
    public var createdBy: String?
    /// The repository, branch and base commit of a repository session.
    public var repository: SessionRepository?
    /// The project the session was started from (`paddock projects start`).
    public var project: String?

    public init(_ s: Session) {
        id = s.id.rawValue
        name = s.spec.name
        state = s.state.rawValue
        template = s.spec.template
        provider = s.spec.provider
        workdir = s.spec.workdir
        envKeys = s.spec.env.keys.sorted()
        limits = Limits(
            memory: s.spec.limits.memory.description, cpus: s.spec.limits.cpus, pids: s.spec.limits.pids,
            disk: s.spec.limits.disk.description)
        createdAt = s.createdAt
        updatedAt = s.updatedAt
        expiresAt = s.expiresAt
        reason = s.reason
        start = s.start
        snapshot = s.spec.snapshot
        forkOf = s.spec.forkOf?.rawValue
        repository = s.spec.repository
        project = s.spec.project
        policy = s.policy?.summary
        policyNotes = s.policy.flatMap { $0.notes.isEmpty ? nil : $0.notes }
        team = s.team
        createdBy = s.createdBy
    }
}

public struct SessionListBody: Codable, Sendable {
    public var sessions: [SessionBody]
    public init(sessions: [SessionBody]) { self.sessions = sessions }
}

/// `POST /v1/sessions/{id}/exec`, and the first message of the exec WebSocket.
public struct ExecBody: Codable, Sendable {
    public struct Size: Codable, Sendable {
        public var rows: UInt16
        public var cols: UInt16
        public init(rows: UInt16, cols: UInt16) {
            self.rows = rows
            self.cols = cols
        }
    }
    public var cmd: [String]
    public var env: [String: String]?
    public var cwd: String?
    /// `user` (default) or `root` (root inside the sandbox's user namespace only).
    public var user: String?
    public var tty: Size?
    /// Whether stdin will be sent (WebSocket only).
    public var stdin: Bool?
    /// Kill the command after this long (`30s`, `10m`).
    public var timeout: String?

    public init(
        cmd: [String], env: [String: String]? = nil, cwd: String? = nil, user: String? = nil, tty: Size? = nil,
        stdin: Bool? = nil, timeout: String? = nil
    ) {
        self.cmd = cmd
        self.env = env
        self.cwd = cwd
        self.user = user
        self.tty = tty
        self.stdin = stdin
        self.timeout = timeout
    }
}

/// One line of an exec's NDJSON stream, or one text message on the exec WebSocket.
public struct ExecEventBody: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case started, stdout, stderr, exit, error }
    public var type: Kind
    public var pid: Int32?
    /// Output bytes, base64.
    public var data: String?
    public var code: Int32?
    public var signal: Int32?
    public var oomKilled: Bool?
    public var timedOut: Bool?
    public var error: ErrorBody.Detail?

    public init(
        type: Kind, pid: Int32? = nil, data: String? = nil, code: Int32? = nil, signal: Int32? = nil,
        oomKilled: Bool? = nil, timedOut: Bool? = nil, error: ErrorBody.Detail? = nil
    ) {
        self.type = type
        self.pid = pid
        self.data = data
        self.code = code
        self.signal = signal
        self.oomKilled = oomKilled
        self.timedOut = timedOut
        self.error = error
    }
}

/// A control message a client sends on the exec WebSocket (stdin itself travels as binary messages).
public struct ExecControlBody: Codable, Sendable {
    public enum Kind: String, Codable, Sendable { case closeStdin = "close_stdin", signal, resize }
    public var type: Kind
    public var signal: Int32?
    public var rows: UInt16?
    public var cols: UInt16?
    public init(type: Kind, signal: Int32? = nil, rows: UInt16? = nil, cols: UInt16? = nil) {
        self.type = type
        self.signal = signal
        self.rows = rows
        self.cols = cols
    }
}

/// Prefix byte of binary WebSocket messages from the server.
public enum ExecStream: UInt8 {
    case stdout = 1
    case stderr = 2
}

/// The body of every error response: `{"error": {"code": "not_found", "message": "…"}}`.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var code: String
        public var message: String
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }
    public var error: Detail
    public init(code: String, message: String) { error = Detail(code: code, message: message) }
}

/// A file or directory inside a sandbox.
public struct FileInfoBody: Codable, Sendable, Equatable {
    public var name: String
    public var path: String
    public var type: String
    public var size: UInt64
    public var mode: String
    public var modifiedAt: Date
    public var symlinkTarget: String?

    public init(
        name: String, path: String, type: String, size: UInt64, mode: String, modifiedAt: Date,
        symlinkTarget: String? = nil
    ) {
        self.name = name
        self.path = path
        self.type = type
        self.size = size
        self.mode = mode
        self.modifiedAt = modifiedAt
        self.symlinkTarget = symlinkTarget
    }
}

public struct FileListBody: Codable, Sendable {
    public var entries: [FileInfoBody]
    public init(entries: [FileInfoBody]) { self.entries = entries }
}

/// `GET /v1/sessions/{id}/stats`.
public struct StatsBody: Codable, Sendable {
    public var memoryBytes: UInt64
    public var memoryLimitBytes: UInt64
    public var cpuSeconds: Double
    public var pids: Int
    public var diskUsedBytes: UInt64
    public var diskLimitBytes: UInt64
    public var oomEvents: UInt64
    public var pidLimitHits: UInt64

    public init(
        memoryBytes: UInt64, memoryLimitBytes: UInt64, cpuSeconds: Double, pids: Int, diskUsedBytes: UInt64,
        diskLimitBytes: UInt64, oomEvents: UInt64, pidLimitHits: UInt64
    ) {
        self.memoryBytes = memoryBytes
        self.memoryLimitBytes = memoryLimitBytes
        self.cpuSeconds = cpuSeconds
        self.pids = pids
        self.diskUsedBytes = diskUsedBytes
        self.diskLimitBytes = diskLimitBytes
        self.oomEvents = oomEvents
        self.pidLimitHits = pidLimitHits
    }
}

/// `PUT /v1/pools/{template}`.
public struct PoolBody: Codable, Sendable {
    public var size: Int
    public var provider: String?
    public init(size: Int, provider: String? = nil) {
        self.size = size
        self.provider = provider
    }
}

public struct PoolListBody: Codable, Sendable {
    public var pools: [PoolStatus]
    public init(pools: [PoolStatus]) { self.pools = pools }
}

/// `GET /v1/health`, unauthenticated: liveness only.
public struct HealthBody: Codable, Sendable {
    public var status: String
    public init(status: String) { self.status = status }
}

/// JSON coders used on both ends of the API.
public enum APICoding {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return e
    }
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .iso8601
        return d
    }
}

public let paddockVersion = "0.1.0"
