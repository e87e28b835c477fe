import PaddockCore
import PaddockInitProtocol

/// Everything a provider needs to start one sandbox.
public struct SandboxRequest: Sendable, CustomStringConvertible {
    public var id: SessionID
    public var template: String
    public var limits: ResourceLimits
    /// A snapshot layer whose files the sandbox starts with (`SandboxProvider.snapshot`), or nil.
    public var layer: String?
    /// The template's base root filesystem (`host`, `debian:SUITE`, `oci:/PATH`), prepared by `prepareBase`.
    public var base: String
    /// The template's sealed install layer, mounted read-only over the base and shared by its sessions.
    public var templateLayer: String?
    /// A template build: install steps download packages, so the sandbox shares the host's network, and they
    /// change the base's own files, so sandbox ids map to the same host ids (root is root over the base's
    /// files, within the sandbox's mount namespace and without host capabilities).
    public var templateBuild: Bool
    /// What the sandbox must enforce below its processes (exec guard, file mounts). Empty by default.
    public var guardrails = SandboxGuardrails()
    /// Room the sandbox's disk is made with beyond `limits.disk`, so that a later, larger limit (a warm claim)
    /// can be applied in place. Nil: just the limit.
    public var diskCapacity: ByteSize?
    /// `layer` is a workspace layer (`SandboxProvider.sealWorkspaceLayer`): where the provider can, the sandbox's
    /// /workspace is a copy-on-write view of it instead of a copy, so starting costs nothing per file.
    public var sharesWorkspace = false
    /// `layer` is a snapshot that kept processes (`snapshotKeepingProcesses`): the sandbox continues them from its
    /// checkpoint instead of starting a fresh init.
    public var restoresProcesses = false

    public init(
        id: SessionID, template: String, limits: ResourceLimits, layer: String? = nil, base: String = "host",
        templateLayer: String? = nil, templateBuild: Bool = false
    ) {
        self.id = id
        self.template = template
        self.limits = limits
        self.layer = layer
        self.base = base
        self.templateLayer = templateLayer
        self.templateBuild = templateBuild
    }

    public var description: String {
        "SandboxRequest(\(id), template: \(template), base: \(base), limits: \(limits), layer: \(layer ?? "-"))"
    }
}

/// A command to run in a sandbox.
public struct ExecRequest: Sendable, CustomStringConvertible {
    public var argv: [String]
    /// The complete environment of the command (the caller merges base, session and exec layers).
    public var env: [String: String]
    public var cwd: String
    public var user: SandboxUser
    public var tty: TerminalSize?
    /// Whether the caller will send stdin; otherwise the command reads /dev/null.
    public var stdin: Bool
    /// Keep running when the caller goes away (re-attach by pid later).
    public var detached: Bool
    public var tag: String?

    public init(
        argv: [String], env: [String: String], cwd: String, user: SandboxUser = .user, tty: TerminalSize? = nil,
        stdin: Bool = false, detached: Bool = false, tag: String? = nil
    ) {
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.user = user
        self.tty = tty
        self.stdin = stdin
        self.detached = detached
        self.tag = tag
    }

    /// The argv and environment keys; never environment values.
    public var description: String {
        "ExecRequest(argv: \(argv), env: [\(env.keys.sorted().joined(separator: ", "))], cwd: \(cwd), user: \(user))"
    }
}

/// How a command ended.
public struct ExitStatus: Sendable, Equatable, Codable {
    /// The exit code; 128 + signal when killed by a signal (as shells report it).
    public var code: Int32
    public var signal: Int32?
    /// The sandbox hit its memory limit while the command ran.
    public var outOfMemory: Bool

    public init(code: Int32, signal: Int32? = nil, outOfMemory: Bool = false) {
        self.code = code
        self.signal = signal
        self.outOfMemory = outOfMemory
    }
}

/// One event of a running command.
public enum ExecEvent: Sendable, Equatable {
    case started(pid: Int32)
    case stdout([UInt8])
    case stderr([UInt8])
    case exited(ExitStatus)
}

/// A running command: its events and the controls a caller has over it.
public protocol ExecHandle: Sendable {
    /// `started` first, output as it comes, `exited` last. Throws a PaddockError if the sandbox goes away.
    /// Backpressured: a consumer that reads slowly slows the command's output down, nothing piles up.
    var events: BackpressuredStream<ExecEvent> { get }
    func sendStdin(_ bytes: [UInt8]) async throws
    func closeStdin() async throws
    func signal(_ signal: Int32) async throws
    func resize(_ size: TerminalSize) async throws
    /// Stop following the command. A non-detached command is killed.
    func cancel() async
}

/// Resource usage of a sandbox, from its cgroups and writable layer.
public struct SandboxStats: Sendable, Codable, Equatable {
    public var memoryBytes: UInt64
    public var memoryLimitBytes: UInt64
    public var cpuNanoseconds: UInt64
    public var pids: Int
    public var diskUsedBytes: UInt64
    public var diskLimitBytes: UInt64
    /// How many times the memory limit was hit.
    public var oomEvents: UInt64
    /// How many forks failed at the pid limit.
    public var pidLimitHits: UInt64 = 0

    public init(
        memoryBytes: UInt64, memoryLimitBytes: UInt64, cpuNanoseconds: UInt64, pids: Int, diskUsedBytes: UInt64,
        diskLimitBytes: UInt64, oomEvents: UInt64
    ) {
        self.memoryBytes = memoryBytes
        self.memoryLimitBytes = memoryLimitBytes
        self.cpuNanoseconds = cpuNanoseconds
        self.pids = pids
        self.diskUsedBytes = diskUsedBytes
        self.diskLimitBytes = diskLimitBytes
        self.oomEvents = oomEvents
    }
}

public typealias SandboxFileInfo = WireFileInfo

/// A sealed snapshot layer: the files a sandbox had changed, kept by the provider.
public struct LayerInfo: Sendable, Equatable, Codable {
    public var id: String
    /// Bytes of file data.
    public var bytes: UInt64
    /// Files, directories, links and deletions recorded.
    public var entries: Int
    public init(id: String, bytes: UInt64, entries: Int) {
        self.id = id
        self.bytes = bytes
        self.entries = entries
    }
}

/// A raw byte connection to a port inside a sandbox (E2B's port routing).
public protocol SandboxConnection: Sendable {
    /// Bytes from the port as they arrive (backpressured); ends when the port closes its side.
    var inbound: BackpressuredStream<[UInt8]> { get }
    func write(_ bytes: [UInt8]) async throws
    /// Closes the sending side: the port reads EOF, and its answer still arrives.
    func finishWriting() async
    /// Closes both directions.
    func close() async
}

/// What a provider found after a server restart.
public struct RecoveryReport: Sendable, Equatable {
    /// Sandboxes still running and answering; they keep serving their sessions.
    public var adopted: [SessionID] = []
    /// Adopted sandboxes whose runtime reports them running but whose init did not answer in the first, short
    /// wait (a loaded host): the caller checks them again in the background instead of holding up the start.
    public var unanswered: [SessionID] = []
    /// Adopted sandboxes that are frozen (paused): nothing may be asked of their init until they are resumed.
    public var frozen: [SessionID] = []
    /// Sandboxes of known sessions that were dead or broken; they were cleaned up.
    public var lost: [SessionID] = []
    /// Leftovers nobody owns (runtime state, mounts, cgroups, directories) that were removed.
    public var removedOrphans: [String] = []
    public init() {}
}

/// Starts and drives sandboxes. The local OCI-runtime provider is the first; gVisor, Kubernetes and
/// remote providers implement the same protocol. What runs inside a sandbox is paddock-init's business: a
/// provider says how to reach it (`initClient`), and `InitClient` does the rest the same way for all of them.
public protocol SandboxProvider: Sendable {
    /// The name sessions select it by (`local`, `gvisor`, …).
    var name: String { get }

    /// Creates and starts a sandbox; returns once its init answers. On failure nothing is left behind.
    func create(_ request: SandboxRequest) async throws
    /// Stops and removes everything of the sandbox. Idempotent: destroying an unknown id succeeds.
    func destroy(_ id: SessionID) async throws
    /// Starts sandboxes of `template` until `size` are ready to be claimed; returns how many are ready. Warm
    /// sandboxes of the same name started from another version of the template are replaced.
    func fillPool(_ template: WarmTemplate, size: Int) async throws -> Int
    /// How many warm sandboxes of the template named `template` are ready.
    func readyCount(template: String) async -> Int
    /// Hands over a ready sandbox of `template` with `limits` applied and the files of `layer` (if any)
    /// written into it, or nil when none is ready or none can take the layer. The sandbox's id becomes the
    /// session's.
    func claimWarm(template: WarmTemplate, limits: ResourceLimits, layer: String?) async -> SessionID?
    /// Destroys every warm sandbox (on shutdown, so none runs unowned while the server is down).
    func drainWarm() async
    /// The server is stopping: release host resources no sandbox uses any more (sessions that keep running
    /// for the next server to adopt keep theirs).
    func shutdown() async
    /// Makes a template base (`host`, `debian:SUITE`, `oci:/PATH`) ready to start sandboxes from, building it
    /// once (reported line by line through `progress`) and reusing it afterwards.
    func prepareBase(_ base: String, progress: @escaping @Sendable (String) async -> Void) async throws
    /// Freezes the sandbox: no CPU, memory and files kept. Idempotent.
    func pause(_ id: SessionID) async throws
    /// Thaws a paused sandbox; its processes continue. Idempotent.
    func resume(_ id: SessionID) async throws
    /// Whether `pauseToDisk` works here (gVisor, whose whole sandbox can be checkpointed).
    var pausesToDisk: Bool { get }
    /// Writes the running sandbox's whole state to disk and stops it: no memory held, nothing running. `resume`
    /// restores it, processes and open files included. Idempotent.
    func pauseToDisk(_ id: SessionID) async throws
    /// The client of the sandbox's paddock-init, through which its commands, processes, ports and files are
    /// reached. `notFound` when this provider has no such sandbox.
    func initClient(_ id: SessionID) async throws -> InitClient

    /// Seals the sandbox's changed files as the new layer `layer` (an id the caller chose). A running sandbox
    /// is frozen for the copy and thawed after it, so the layer is consistent; a paused one stays paused.
    func snapshot(_ id: SessionID, layer: String) async throws -> LayerInfo
    /// Whether `snapshotKeepingProcesses` can work here (gVisor, whose whole sandbox can be checkpointed).
    var keepsProcesses: Bool { get }
    /// Seals the files as `snapshot` does and, from the same frozen moment, the sandbox's running processes: a
    /// sandbox started with the layer and `SandboxRequest.restoresProcesses` continues them. The sandbox keeps
    /// running. `removeLayer` removes both.
    func snapshotKeepingProcesses(_ id: SessionID, layer: String) async throws -> LayerInfo
    /// Seals a directory tree as the `/workspace` of the new layer `layer`: `fill` writes the tree into the
    /// directory it is given (owners as the sandbox must see them), and the layer appears whole or not at all.
    /// Sandboxes started with it (`SandboxRequest.sharesWorkspace`, or a warm claim) share it copy-on-write.
    /// With `base` (an existing workspace layer), `fill` is given a tree of hard links to the base's `/workspace`
    /// instead of an empty directory, to change by replacing files (never by writing into one): a layer that
    /// differs from its base by a few files costs those files. `notFound` when the base is gone.
    func sealWorkspaceLayer(_ layer: String, from base: String?, fill: @Sendable (String) async throws -> Void)
        async throws
    /// Seals `layer` as a delta over the workspace layer `base` (itself no delta): `fill` is given a copy-on-write
    /// view of the base's `/workspace` to change as a sandbox would, and only what it writes becomes the layer
    /// (changed files, and deletions as overlay whiteouts); then `finish` is given the layer's own `/workspace`
    /// directory, the view gone, to add files that need no view (hard links). Sandboxes see the two stacked, so a
    /// layer that differs from its base by a few files costs those files, whatever the size of the tree. The base
    /// stays as long as a delta over it does (`removeLayer` keeps it). `notFound` when the base is gone.
    func sealWorkspaceDelta(
        _ layer: String, over base: String, fill: @Sendable (String) async throws -> Void,
        finish: @Sendable (String) async throws -> Void
    ) async throws
    /// Whether this provider gives sandboxes a copy-on-write view of a workspace layer (else it copies it).
    var sharesWorkspaceLayers: Bool { get }
    /// Removes a layer (by id, or a half-written one by its `.staging-<id>` name). Removing an unknown layer
    /// succeeds.
    func removeLayer(_ layer: String) async
    /// The layers this provider holds on disk: published ones by id, half-written ones as `.staging-<id>`.
    func layers() async -> [String]

    func stats(_ id: SessionID) async throws -> SandboxStats
    /// Whether the sandbox's init still answers.
    func isAlive(_ id: SessionID) async -> Bool
    /// Waits up to `limit` for the sandbox's process to exit; true when it has (or none runs).
    func exited(_ id: SessionID, within limit: Duration) async -> Bool
    /// After a restart: keep the sandboxes of `live` sessions that still answer, clean up everything else.
    func recover(live: Set<SessionID>) async -> RecoveryReport
    /// Host path where the egress gateway listens for this sandbox (paddock-init relays the sandbox's proxy
    /// port to it), or nil when this provider cannot reach a host socket: then nothing leaves the sandbox.
    func egressSocketPath(_ id: SessionID) -> String?
}

extension SandboxProvider {
    public func egressSocketPath(_ id: SessionID) -> String? { nil }
    /// Providers without an exit to wait on answer at once.
    public func exited(_ id: SessionID, within limit: Duration) async -> Bool { await !isAlive(id) }
    public var sharesWorkspaceLayers: Bool { false }
    public var pausesToDisk: Bool { false }
    public var keepsProcesses: Bool { false }
    public func snapshotKeepingProcesses(_ id: SessionID, layer: String) async throws -> LayerInfo {
        throw PaddockError.unavailable(
            "provider '\(name)' cannot keep a session's processes in a snapshot (gVisor sessions can); take one that "
                + "keeps its files (`--keeps files`)")
    }
    public func pauseToDisk(_ id: SessionID) async throws {
        throw PaddockError.unavailable(
            "provider '\(name)' cannot stop a session to disk (gVisor sessions can); `paddock session stop` without "
                + "--to-disk pauses it in memory")
    }
    public func sealWorkspaceLayer(
        _ layer: String, from base: String?, fill: @Sendable (String) async throws -> Void
    ) async throws {
        throw PaddockError.unavailable("provider '\(name)' keeps no workspace layers")
    }
    public func sealWorkspaceDelta(
        _ layer: String, over base: String, fill: @Sendable (String) async throws -> Void,
        finish: @Sendable (String) async throws -> Void
    ) async throws {
        throw PaddockError.unavailable("provider '\(name)' keeps no delta layers")
    }
}
