import Foundation
import PaddockCore
import PaddockSandbox
import PaddockServices
import Synchronization

/// The code contexts of each sandbox and their running Python kernels.
actor PythonKernels {
    static let defaultContext = "default"

    private struct Key: Hashable {
        var session: SessionID
        var context: String
    }

    private var contexts: [Key: CodeInterpreterService.ContextBody] = [:]
    private var kernels: [Key: PythonKernel] = [:]

    func contexts(of session: SessionID) -> [CodeInterpreterService.ContextBody] {
        contexts.filter { $0.key.session == session }.map(\.value).sorted { $0.id < $1.id }
    }

    func addContext(_ context: CodeInterpreterService.ContextBody, session: SessionID) {
        contexts[Key(session: session, context: context.id)] = context
    }

    func removeContext(_ id: String, session: SessionID) async throws {
        let key = Key(session: session, context: id)
        guard contexts.removeValue(forKey: key) != nil || kernels[key] != nil else {
            throw PaddockError.notFound("context \(id) not found")
        }
        await kernels.removeValue(forKey: key)?.stop()
    }

    func restartContext(_ id: String, session: SessionID) async throws {
        let key = Key(session: session, context: id)
        guard contexts[key] != nil || id == Self.defaultContext else {
            throw PaddockError.notFound("context \(id) not found")
        }
        await kernels.removeValue(forKey: key)?.stop()
    }

    /// The kernel of a context, started (as `user`, in the context's directory) when it has none or its
    /// previous one died.
    func kernel(
        session: SessionID, context id: String, user: SandboxUser, sessions: SessionService, by caller: Caller
    ) async throws
        -> PythonKernel
    {
        let key = Key(session: session, context: id)
        if let kernel = kernels[key], kernel.isAlive { return kernel }
        guard id == Self.defaultContext || contexts[key] != nil else {
            throw PaddockError.notFound("context \(id) not found; create one with create_code_context()")
        }
        let cwd = contexts[key]?.cwd ?? user.home
        let handle = try await sessions.exec(
            session,
            SessionCommand(
                ["python3", "-u", "-c", PythonKernelScript.source], env: ["PYTHONUNBUFFERED": "1"], cwd: cwd,
                user: user, stdin: true),
            by: caller)
        let kernel = PythonKernel(handle: handle)
        kernels[key] = kernel
        return kernel
    }
}

/// One running kernel. Executions take turns: each runs to its `end_of_execution` line before the next
/// request is written.
final class PythonKernel: @unchecked Sendable {
    private let handle: any ExecHandle
    private let turn = TurnLock()
    // Touched only while holding `turn`.
    private var iterator: BackpressuredStream<ExecEvent>.Iterator
    /// The kernel's output lines (one JSON message each; a result can carry a whole image, hence the room).
    private var lines = LineSplitter(maxLineLength: 64 << 20)
    private var ready: [[UInt8]] = []
    private var stderrTail: [UInt8] = []
    private let alive = Mutex(true)

    init(handle: any ExecHandle) {
        self.handle = handle
        iterator = handle.events.makeAsyncIterator()
    }

    var isAlive: Bool { alive.withLock { $0 } }

    func stop() async {
        alive.withLock { $0 = false }
        await handle.cancel()
    }

    /// Writes one request and hands each result line to `emit` until the execution ends. When `emit`
    /// returns false (the client left), the execution is interrupted and its output drained.
    func execute(_ request: [UInt8], emit: @Sendable ([UInt8]) async -> Bool) async throws {
        await turn.acquire()
        defer { turn.release() }
        guard isAlive else { throw PaddockError.unavailable("the kernel stopped; run the code again") }
        try await handle.sendStdin(request)
        var delivering = true
        while let line = try await nextLine() {
            if line == Self.endMarker { return }
            if delivering {
                delivering = await emit(line)
                if !delivering { try? await handle.signal(2) }
            }
        }
        alive.withLock { $0 = false }
        let detail = String(decoding: stderrTail.suffix(2000), as: UTF8.self)
        throw PaddockError.unavailable("the Python kernel exited\(detail.isEmpty ? "" : ": \(detail)")")
    }

    static let endMarker = Array(#"{"type": "end_of_execution"}"#.utf8)

    private func nextLine() async throws -> [UInt8]? {
        while true {
            if !ready.isEmpty { return ready.removeFirst() }
            guard let event = try await iterator.next() else { return nil }
            switch event {
            case .stdout(let bytes): ready += lines.feed(bytes).map(\.bytes)
            case .stderr(let bytes): stderrTail = Array((stderrTail + bytes).suffix(4096))
            case .started: continue
            case .exited: return nil
            }
        }
    }
}

/// A FIFO lock for async code.
final class TurnLock: @unchecked Sendable {
    private let lock = NSLock()
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if held {
                waiters.append(c)
                lock.unlock()
            } else {
                held = true
                lock.unlock()
                c.resume()
            }
        }
    }

    func release() {
        lock.lock()
        if waiters.isEmpty {
            held = false
            lock.unlock()
        } else {
            let next = waiters.removeFirst()
            lock.unlock()
            next.resume()
        }
    }
}
