import Foundation
import Logging
import PaddockCore
import PaddockLinux
import PaddockSandbox
import PaddockServer
import PaddockServices
import PaddockStore

/// What the machine running the tests can do. Sandbox tests are gated on `canRunSandboxes` and skip with
/// the reason elsewhere (CI runs as root, so they run there).
public enum TestHost {
    private static let probed = Task { await HostCapabilities.probe() }

    public static func capabilities() async -> HostCapabilities { await probed.value }

    public static var canRunSandboxes: Bool {
        get async { await capabilities().canRunSandboxes }
    }

    /// Directory of the test binary; `swift build` puts `paddock` and `paddock-init` there too.
    public static var buildDirectory: String {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On Linux the runner is `<build>/<package>PackageTests.xctest`; elsewhere a bundle inside <build>.
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("paddock-init").path), url.path != "/"
        {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    public static var initBinary: String { buildDirectory + "/paddock-init" }
    public static var paddockBinary: String { buildDirectory + "/paddock" }

    /// A fresh directory for one test's data; the caller removes it (`removeDataDirectory`).
    public static func makeDataDirectory(_ label: String) -> String {
        let dir = "/tmp/paddock-test-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o711)
        return dir
    }

    /// Data directories of test runs whose process is gone (killed mid-test): their sandboxes are
    /// recovered away — the same code a restarted server runs — before this run starts its own.
    static let sweepOnce = Task {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        for name in entries where name.hasPrefix("paddock-test-") {
            // paddock-test-<label>-<pid>-<random>
            let parts = name.split(separator: "-")
            guard parts.count >= 4, let pid = Int32(parts[parts.count - 2]), pid != getpid(), kill(pid, 0) != 0 else {
                continue
            }
            let dir = "/tmp/" + name
            for providerDirectory in [dir, dir + "/gvisor"]
            where FileManager.default.fileExists(atPath: providerDirectory + "/sessions") {
                let capabilities = await capabilities()
                let provider =
                    providerDirectory.hasSuffix("/gvisor")
                    ? try? await LocalProvider.makeGVisor(
                        dataDirectory: dir, initBinary: initBinary, capabilities: capabilities,
                        logger: quietLogger("sweep"))
                    : try? await LocalProvider.make(
                        dataDirectory: dir, initBinary: initBinary, capabilities: capabilities,
                        logger: quietLogger("sweep"))
                _ = await provider?.recover(live: [])
                provider?.removeCgroupParent()
            }
            removeDataDirectory(dir)
        }
    }

    public static func removeDataDirectory(_ dir: String) {
        guard dir.hasPrefix("/tmp/paddock-test-") else { return }
        try? FileManager.default.removeItem(atPath: dir)
    }

    public static func quietLogger(_ label: String) -> Logger {
        var l = Logger(label: label)
        l.logLevel = .error
        return l
    }
}

/// A provider, store and session service over one temporary data directory: the same objects
/// `paddock server` wires together, minus the HTTP listener.
public struct TestStack: Sendable {
    public let dataDirectory: String
    public let provider: LocalProvider
    /// The gVisor provider when runsc is installed.
    public let gvisor: LocalProvider?
    public let store: SQLiteStore
    public let sessions: SessionService
    public let tokens: TokenService

    public static func make(_ label: String, dataDirectory: String? = nil) async throws -> TestStack {
        await TestHost.sweepOnce.value
        let dir = dataDirectory ?? TestHost.makeDataDirectory(label)
        let provider = try await LocalProvider.make(
            dataDirectory: dir, initBinary: TestHost.initBinary, capabilities: await TestHost.capabilities(),
            logger: TestHost.quietLogger("test.provider"))
        let store = try SQLiteStore(path: dir + "/paddock.sqlite")
        var providers: [String: any SandboxProvider] = ["local": provider]
        let gvisor = try? await LocalProvider.makeGVisor(
            dataDirectory: dir, initBinary: TestHost.initBinary, capabilities: await TestHost.capabilities(),
            logger: TestHost.quietLogger("test.gvisor"))
        if let gvisor { providers["gvisor"] = gvisor }
        let sessions = SessionService(store: store, providers: providers, logger: TestHost.quietLogger("test.sessions"))
        await sessions.setRepositories(try RepositoryClones(root: dir + "/repos"))
        return TestStack(
            dataDirectory: dir, provider: provider, gvisor: gvisor, store: store, sessions: sessions,
            tokens: TokenService(store: store))
    }

    /// Destroys every live session and removes the data directory, failing loudly if anything leaked.
    public func tearDown() async throws {
        for s in try await sessions.list(includeEnded: false) { _ = try? await sessions.destroy(s.id) }
        await WarmPoolService(sessions: sessions).drain()
        await provider.shutdown()
        await gvisor?.shutdown()
        var footprint = Footprint(sessionDirectories: 0, mounts: 0, runtimeContainers: 0, cgroups: 0)
        for p in [provider] + (gvisor.map { [$0] } ?? []) {
            let f = await p.footprint()
            footprint.sessionDirectories += f.sessionDirectories
            footprint.mounts += f.mounts
            footprint.loopDevices += f.loopDevices
            footprint.runtimeContainers += f.runtimeContainers
            footprint.cgroups += f.cgroups
            // Whatever leaked is still removed (through the restart-recovery path) before the data directory
            // goes: a failing test must not leave sandboxes running that nothing can find any more.
            if !f.isEmpty { _ = await p.recover(live: []) }
            p.removeCgroupParent()
        }
        TestHost.removeDataDirectory(dataDirectory)
        guard footprint.isEmpty else { throw PaddockError.internal("sandboxes leaked: \(footprint)") }
    }
}

/// Output and exit status of a command run to completion in a sandbox.
public struct ExecOutput: Sendable {
    public var stdout: String
    public var stderr: String
    public var status: ExitStatus
    /// When each stdout chunk arrived, relative to the start.
    public var stdoutArrivals: [Duration]
}

extension SessionService {
    /// Runs a command to completion and collects its output.
    public func run(
        _ id: SessionID, _ cmd: [String], env: [String: String]? = nil, cwd: String? = nil, user: String? = nil
    )
        async throws -> ExecOutput
    {
        let start = ContinuousClock.now
        let command = SessionCommand(cmd, env: env ?? [:], cwd: cwd, user: try SessionService.user(user))
        let handle = try await exec(id, command, by: .system)
        var out = ExecOutput(stdout: "", stderr: "", status: .init(code: -1), stdoutArrivals: [])
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        for try await event in handle.events {
            switch event {
            case .stdout(let b):
                stdout += b
                out.stdoutArrivals.append(ContinuousClock.now - start)
            case .stderr(let b): stderr += b
            case .exited(let s): out.status = s
            case .started: break
            }
        }
        out.stdout = String(decoding: stdout, as: UTF8.self)
        out.stderr = String(decoding: stderr, as: UTF8.self)
        return out
    }

    /// Runs `sh -c script`.
    public func sh(_ id: SessionID, _ script: String, user: String? = nil) async throws -> ExecOutput {
        try await run(id, ["/bin/sh", "-c", script], user: user)
    }
}

/// Runs `body` with a fresh stack and always tears it down; a leak after a passing body fails the test.
public func withTestStack<T: Sendable>(_ label: String, _ body: (TestStack) async throws -> T) async throws -> T {
    let stack = try await TestStack.make(label)
    let result: T
    do {
        result = try await body(stack)
    } catch {
        try? await stack.tearDown()
        throw error
    }
    try await stack.tearDown()
    return result
}
