import Foundation
import PaddockCore
import PaddockInitProtocol
import PaddockSandbox

/// A provider without sandboxes: it remembers which ids it "started", runs every command as an instant
/// `exit 0` that echoes its argv, and keeps files in memory. For tests of everything above the provider (the
/// API's validation, the fuzz suite) that must run in seconds and without root; anything about isolation uses
/// the real one.
public actor FakeProvider: SandboxProvider {
    public nonisolated let name: String
    private var live: Set<SessionID> = []
    private var paused: Set<SessionID> = []
    private var files: [SessionID: [String: [UInt8]]] = [:]
    /// Directories made through `makeDirectory` (files need none: their parents are implied).
    private var directories: [SessionID: Set<String>] = [:]
    private var layerIDs: Set<String> = []
    /// Lifecycle calls a test holds just before they return (the provider's work done), to interleave others.
    private var holds: [LifecycleCall: CallGate] = [:]

    public init(name: String = "local") { self.name = name }

    /// The provider calls a test can hold.
    public enum LifecycleCall: Hashable, Sendable { case create, pause, resume, destroy, snapshot }

    /// The next `call` does its work, then waits at the returned gate until the test opens it.
    public func hold(_ call: LifecycleCall) -> CallGate {
        let gate = CallGate()
        holds[call] = gate
        return gate
    }

    private func passHold(_ call: LifecycleCall) async {
        guard let gate = holds.removeValue(forKey: call) else { return }
        await gate.pass()
    }

    /// Sandboxes started and not destroyed.
    public var sandboxes: Set<SessionID> { live }

    public func create(_ request: SandboxRequest) async throws {
        guard !live.contains(request.id) else { throw PaddockError.conflict("sandbox \(request.id) exists") }
        live.insert(request.id)
        files[request.id] = [:]
        await passHold(.create)
    }

    public func destroy(_ id: SessionID) async throws {
        live.remove(id)
        paused.remove(id)
        files[id] = nil
        directories[id] = nil
        await passHold(.destroy)
    }

    public func fillPool(_ template: WarmTemplate, size: Int) async throws -> Int { 0 }
    public func readyCount(template: String) async -> Int { 0 }
    public func claimWarm(template: WarmTemplate, limits: ResourceLimits, layer: String?) async -> SessionID? { nil }
    public func drainWarm() async {}
    public func shutdown() async {}
    public func prepareBase(_ base: String, progress: @escaping @Sendable (String) async -> Void) async throws {}

    public func pause(_ id: SessionID) async throws {
        try check(id)
        paused.insert(id)
        await passHold(.pause)
    }

    public func resume(_ id: SessionID) async throws {
        try check(id)
        paused.remove(id)
        await passHold(.resume)
    }

    public func exec(_ id: SessionID, _ request: ExecRequest) async throws -> any ExecHandle {
        try check(id)
        return FakeExecHandle(output: Array(request.argv.joined(separator: " ").utf8))
    }

    public func attach(_ id: SessionID, pid: Int32) async throws -> any ExecHandle {
        throw PaddockError.notFound("no process with pid \(pid)")
    }

    public func listProcesses(_ id: SessionID) async throws -> [WireProcessInfo] {
        try check(id)
        return []
    }

    public func signalProcess(_ id: SessionID, pid: Int32, signal: Int32) async throws {
        throw PaddockError.notFound("no process with pid \(pid)")
    }

    public func dial(_ id: SessionID, port: UInt16) async throws -> any SandboxConnection {
        throw PaddockError.notFound("nothing listens on port \(port)")
    }

    public func readFile(_ id: SessionID, path: String, user: SandboxUser) async throws -> BackpressuredStream<[UInt8]>
    {
        guard let bytes = try check(id)[path] else { throw PaddockError.notFound("\(path) does not exist") }
        return BackpressuredStream { channel in await channel.send(bytes) }
    }

    public func writeFile(
        _ id: SessionID, path: String, mode: UInt32, user: SandboxUser, append: Bool,
        data: BackpressuredStream<[UInt8]>
    ) async throws {
        _ = try check(id)
        var bytes: [UInt8] = append ? files[id]?[path] ?? [] : []
        for try await chunk in data { bytes += chunk }
        files[id]?[path] = bytes
    }

    public func stat(_ id: SessionID, path: String, user: SandboxUser) async throws -> SandboxFileInfo {
        if directories[id]?.contains(path) == true {
            var info = Self.info(path, size: 0)
            info.kind = .directory
            return info
        }
        guard let bytes = try check(id)[path] else { throw PaddockError.notFound("\(path) does not exist") }
        return Self.info(path, size: bytes.count)
    }

    public func listDirectory(_ id: SessionID, path: String, depth: Int, user: SandboxUser) async throws
        -> [SandboxFileInfo]
    {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        return try check(id).filter { $0.key.hasPrefix(prefix) }.map { Self.info($0.key, size: $0.value.count) }
    }

    public func makeDirectory(_ id: SessionID, path: String, user: SandboxUser) async throws -> Bool {
        _ = try check(id)
        return directories[id, default: []].insert(path).inserted
    }

    public func remove(_ id: SessionID, path: String, user: SandboxUser) async throws {
        guard try check(id)[path] != nil else { throw PaddockError.notFound("\(path) does not exist") }
        files[id]?[path] = nil
    }

    public func rename(_ id: SessionID, from: String, to: String, user: SandboxUser) async throws {
        guard let bytes = try check(id)[from] else { throw PaddockError.notFound("\(from) does not exist") }
        files[id]?[from] = nil
        files[id]?[to] = bytes
    }

    public func snapshot(_ id: SessionID, layer: String) async throws -> LayerInfo {
        _ = try check(id)
        layerIDs.insert(layer)
        await passHold(.snapshot)
        return LayerInfo(id: layer, bytes: 0, entries: 0)
    }

    public func removeLayer(_ layer: String) async { layerIDs.remove(layer) }
    public func layers() async -> [String] { layerIDs.sorted() }

    public func stats(_ id: SessionID) async throws -> SandboxStats {
        _ = try check(id)
        return SandboxStats(
            memoryBytes: 1 << 20, memoryLimitBytes: 1 << 30, cpuNanoseconds: 0, pids: 1, diskUsedBytes: 0,
            diskLimitBytes: 1 << 30, oomEvents: 0)
    }

    public func isAlive(_ id: SessionID) async -> Bool { live.contains(id) }

    public func recover(live keep: Set<SessionID>) async -> RecoveryReport {
        var report = RecoveryReport()
        report.adopted = live.intersection(keep).sorted { $0.rawValue < $1.rawValue }
        report.removedOrphans = live.subtracting(keep).map(\.rawValue).sorted()
        live.formIntersection(keep)
        return report
    }

    @discardableResult
    private func check(_ id: SessionID) throws -> [String: [UInt8]] {
        guard live.contains(id), let sandboxFiles = files[id] else {
            throw PaddockError.unavailable("sandbox \(id) is not running")
        }
        return sandboxFiles
    }

    private static func info(_ path: String, size: Int) -> SandboxFileInfo {
        SandboxFileInfo(
            name: String(path.split(separator: "/").last ?? ""), path: path, kind: .file, size: UInt64(size),
            mode: 0o100644, uid: 1000, gid: 1000, mtimeNanos: 0)
    }
}

/// Where a held provider call waits: the test learns the call got there (`reached`), does what it wants to
/// interleave, then lets it return (`open`).
public actor CallGate {
    private var arrived = false
    private var opened = false
    private var arrivalWaiters: [CheckedContinuation<Void, Never>] = []
    private var openWaiters: [CheckedContinuation<Void, Never>] = []

    func pass() async {
        arrived = true
        for waiter in arrivalWaiters { waiter.resume() }
        arrivalWaiters = []
        if !opened { await withCheckedContinuation { openWaiters.append($0) } }
    }

    /// Returns once the held call has done its work and waits.
    public func reached() async {
        if arrived { return }
        await withCheckedContinuation { arrivalWaiters.append($0) }
    }

    public func open() {
        opened = true
        for waiter in openWaiters { waiter.resume() }
        openWaiters = []
    }
}

/// A command that has already run: `started`, its output, `exited(0)`.
struct FakeExecHandle: ExecHandle {
    let events: BackpressuredStream<ExecEvent>

    init(output: [UInt8]) {
        events = BackpressuredStream { channel in
            await channel.send(.started(pid: 2))
            if !output.isEmpty { await channel.send(.stdout(output)) }
            await channel.send(.exited(ExitStatus(code: 0)))
        }
    }

    func sendStdin(_ bytes: [UInt8]) async throws {}
    func closeStdin() async throws {}
    func signal(_ signal: Int32) async throws {}
    func resize(_ size: TerminalSize) async throws {}
    func cancel() async { events.cancel() }
}
