import Foundation
import PaddockCore
import PaddockInitProtocol
import PaddockSandbox

/// A provider without sandboxes: it remembers which ids it "started", runs every command as an instant
/// `exit 0` that echoes its argv, and keeps files in memory. Its init answers the real `InitClient` in memory
/// (`FakeInit`), so the client's framing and error mapping run in these tests too. For tests of everything above the provider (the
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

    /// The provider calls a test can hold. `layers` waits before it lists, so what the test does meanwhile is
    /// in its answer (a layer collection that has read the store, and lists the layers after an operation ends).
    public enum LifecycleCall: Hashable, Sendable { case create, pause, resume, destroy, snapshot, layers }

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

    /// A client whose init is answered in memory (`FakeInit`) from this provider's files.
    public func initClient(_ id: SessionID) async throws -> InitClient {
        try check(id)
        return InitClient(transport: FakeInit.Transport(provider: self, id: id))
    }

    /// The sandbox's files by path, or `unavailable` when it is not running.
    func files(of id: SessionID) throws -> [String: [UInt8]] { try check(id) }

    /// Records a directory made through the init; false when it was there already.
    func addDirectory(_ id: SessionID, _ path: String) throws -> Bool {
        try check(id)
        return directories[id, default: []].insert(path).inserted
    }

    func isDirectory(_ id: SessionID, _ path: String) -> Bool { directories[id]?.contains(path) == true }

    /// Sets (or with nil removes) one file of a running sandbox.
    func setFile(_ id: SessionID, _ path: String, _ bytes: [UInt8]?) throws {
        try check(id)
        files[id]?[path] = bytes
    }

    public func snapshot(_ id: SessionID, layer: String) async throws -> LayerInfo {
        _ = try check(id)
        layerIDs.insert(layer)
        await passHold(.snapshot)
        return LayerInfo(id: layer, bytes: 0, entries: 0)
    }

    public func removeLayer(_ layer: String) async { layerIDs.remove(layer) }
    public func layers() async -> [String] {
        await passHold(.layers)
        return layerIDs.sorted()
    }

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

    static func info(_ path: String, size: Int) -> SandboxFileInfo {
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
