import Foundation
import PaddockCore
import PaddockLinux
import PaddockSandbox

extension Benchmarks {
    /// `paddock.snapshot`: seal a session holding 10 MB of changes (freeze, copy, thaw).
    /// `paddock.fork`: seal it and start 10 children with its files from a warm pool, until each has run
    /// `true`. The pool is filled before each sample, outside the timing, as for `paddock.warm_start`.
    func snapshotResults(_ provider: LocalProvider) async throws -> [Result] {
        let parent = SessionID.random()
        try await provider.create(SandboxRequest(id: parent, template: "host", limits: .default))
        do {
            let results = try await measureSnapshots(provider, parent: parent)
            try await provider.destroy(parent)
            return results
        } catch {
            // Leave nothing behind on a failed run either.
            _ = try? await provider.fillPool(.host, size: 0)
            try? await provider.destroy(parent)
            for layer in await provider.layers() { await provider.removeLayer(layer) }
            throw error
        }
    }

    private func measureSnapshots(_ provider: LocalProvider, parent: SessionID) async throws -> [Result] {
        // 10 MB in 40 files of 256 KiB, in a small tree: the shape of a modest repository's changes.
        let fill = try await provider.initClient(parent).exec(
            ExecRequest(
                argv: [
                    "/bin/sh", "-c",
                    "for d in a b c d; do mkdir -p /workspace/$d; for i in 0 1 2 3 4 5 6 7 8 9; do "
                        + "head -c 262144 /dev/urandom > /workspace/$d/f$i; done; done",
                ], env: SandboxLayout.baseEnvironment(), cwd: SandboxLayout.workspace))
        for try await _ in fill.events {}

        var layers: [String] = []
        let snapshotSamples = try await samples(count: iterations) {
            let layer = Snapshot.newID()
            layers.append(layer)
            _ = try await provider.snapshot(parent, layer: layer)
        }
        for layer in layers { await provider.removeLayer(layer) }

        var forkSamples: [Double] = []
        let children = 10
        // As `samples`: one warm-up fork first, then at least five measured (a p50 of three is one sample).
        for round in 0...max(5, iterations / 2) {
            _ = try await provider.fillPool(.host, size: children)
            let layer = Snapshot.newID()
            var started: [SessionID] = []
            let elapsed = try await Self.milliseconds {
                _ = try await provider.snapshot(parent, layer: layer)
                started = try await withThrowingTaskGroup(of: SessionID.self) { group in
                    for _ in 0..<children {
                        group.addTask {
                            guard
                                let id = await provider.claimWarm(
                                    template: .host, limits: .default, layer: layer)
                            else { throw PaddockError.internal("the warm pool was empty") }
                            try await Self.runTrue(provider, id)
                            return id
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            if round > 0 { forkSamples.append(elapsed) }
            for id in started { try await provider.destroy(id) }
            await provider.removeLayer(layer)
        }
        _ = try await provider.fillPool(.host, size: 0)
        return [
            Self.summarize(
                "paddock.snapshot", unit: "ms", snapshotSamples,
                note: "seal 10 MB of changes in 40 files: freeze, copy, thaw"),
            Self.summarize(
                "paddock.fork", unit: "ms", forkSamples,
                note: "seal 10 MB + 10 children from a warm pool, each with the files, to `true` exited"),
        ]
    }
}
