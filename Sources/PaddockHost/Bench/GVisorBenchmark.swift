import Logging
import PaddockCore
import PaddockLinux
import PaddockSandbox

extension Benchmarks {
    /// paddock.cold_start.gvisor and paddock.warm_start.gvisor, beside `peer.runsc`: the same measurements as
    /// runc's, through the gvisor provider. Warm claims ask for the default limits, the only ones a warm gVisor
    /// sandbox can take (its limits are rlimits fixed at start; see `GVisorLimits`).
    func gvisorStartResults(capabilities: HostCapabilities, logger: Logger) async throws -> [Result] {
        let provider: LocalProvider
        do {
            provider = try await LocalProvider.makeGVisor(
                dataDirectory: dataDirectory, initBinary: initBinary, capabilities: capabilities, logger: logger)
        } catch {
            logger.notice("no gVisor start measurements", metadata: ["reason": "\(error)"])
            return []
        }
        _ = await provider.recover(live: [])
        var results: [Result] = []
        let cold = try await coldStartSamples(provider, count: min(iterations, 10))
        results.append(
            Self.summarize("paddock.cold_start.gvisor", unit: "ms", cold, note: "gVisor: create → `true` exited"))
        let warm = try await warmStartSamples(provider, limits: .default)
        results.append(
            Self.summarize(
                "paddock.warm_start.gvisor", unit: "ms", warm,
                note: "gVisor: claim from a warm pool (default limits) → `true` exited"))
        let (exec, hello) = try await gvisorExecSamples(provider)
        results.append(
            Self.summarize(
                "paddock.exec.gvisor", unit: "ms", exec, note: "gVisor: `true` in a running sandbox, to its exit status"
            ))
        results.append(
            Self.summarize(
                "paddock.init_hello.gvisor", unit: "ms", hello,
                note: "gVisor: a new connection to init and one request, the part of an exec that is not the spawn"))
        results += try await gvisorDiskResults(provider)
        provider.removeCgroupParent()
        return results
    }

    /// `true` run in one running gVisor sandbox, to its exit: what a warm claim costs beyond the claim itself; and
    /// init's `hello` on a connection of its own.
    func gvisorExecSamples(_ provider: LocalProvider) async throws -> (exec: [Double], hello: [Double]) {
        let id = SessionID.random()
        try await provider.create(SandboxRequest(id: id, template: "host", limits: .default))
        do {
            let exec = try await samples(count: iterations) { try await Self.runTrue(provider, id) }
            let hello = try await samples(count: iterations) { _ = try await provider.initClient(id).hello() }
            try await provider.destroy(id)
            return (exec, hello)
        } catch {
            try await provider.destroy(id)
            throw error
        }
    }

    /// paddock.checkpoint and paddock.restore.gvisor: an idle gVisor sandbox holding a 200 MiB Python process,
    /// stopped to disk and resumed (through the provider, as `session stop --to-disk` and the next call do), and
    /// the host memory it holds while on disk.
    func gvisorDiskResults(_ provider: LocalProvider) async throws -> [Result] {
        guard provider.pausesToDisk else { return [] }
        let id = SessionID.random()
        var limits = ResourceLimits.default
        limits.memory = .mebibytes(1024)
        try await provider.create(SandboxRequest(id: id, template: "host", limits: limits))
        do {
            // The 200 MiB are written before the fork, and the exec ends only when the parent exits after it: the
            // child, in a session of its own, holds them until it is killed, waiting for a signal that never comes.
            let holder = """
                import os, signal
                held = b"x" * (200 << 20)
                if os.fork() == 0:
                    os.setsid()
                    for fd in (0, 1, 2):
                        os.close(fd)
                    signal.pause()
                """
            let started = try await provider.initClient(id).exec(
                ExecRequest(argv: ["python3", "-c", holder], env: SandboxLayout.baseEnvironment(), cwd: "/"))
            for try await event in started.events {
                if case .exited(let status) = event, status.code != 0 {
                    throw PaddockError.internal("the 200 MiB process did not start in the gVisor sandbox")
                }
            }
            var checkpoints: [Double] = []
            var restores: [Double] = []
            var heldOnDisk: [Double] = []
            for _ in 0..<max(min(iterations, 10), 3) {
                checkpoints.append(try await Self.milliseconds { try await provider.pauseToDisk(id) })
                heldOnDisk.append(Double(try await provider.stats(id).memoryBytes) / 1_048_576)
                restores.append(
                    try await Self.milliseconds {
                        try await provider.resume(id)
                        try await Self.runTrue(provider, id)
                    })
            }
            try await provider.destroy(id)
            return [
                Self.summarize(
                    "paddock.checkpoint.gvisor", unit: "ms", checkpoints,
                    note: "stop to disk: a sandbox holding a 200 MiB Python process"),
                Self.summarize(
                    "paddock.restore.gvisor", unit: "ms", restores, note: "resume from disk → `true` exited"),
                Self.summarize(
                    "paddock.memory_on_disk.gvisor", unit: "MiB", heldOnDisk,
                    note: "host memory (its cgroup) of a sandbox stopped to disk"),
            ]
        } catch {
            try await provider.destroy(id)
            throw error
        }
    }
}
