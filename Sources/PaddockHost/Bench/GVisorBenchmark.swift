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
        var cold: [Double] = []
        for _ in 0..<min(iterations, 10) {
            let id = SessionID.random()
            cold.append(
                try await Self.milliseconds {
                    try await provider.create(SandboxRequest(id: id, template: "host", limits: .default))
                    try await Self.runTrue(provider, id)
                })
            try await provider.destroy(id)
        }
        results.append(
            Self.summarize("paddock.cold_start.gvisor", unit: "ms", cold, note: "gVisor: create → `true` exited"))
        var warm: [Double] = []
        for _ in 0..<iterations {
            _ = try await provider.fillPool(.host, size: 1)
            var claimed: SessionID?
            warm.append(
                try await Self.milliseconds {
                    guard let id = await provider.claimWarm(template: .host, limits: .default, layer: nil) else {
                        throw PaddockError.internal("the gVisor warm pool was empty")
                    }
                    claimed = id
                    try await Self.runTrue(provider, id)
                })
            if let claimed { try await provider.destroy(claimed) }
        }
        _ = try await provider.fillPool(.host, size: 0)
        results.append(
            Self.summarize(
                "paddock.warm_start.gvisor", unit: "ms", warm,
                note: "gVisor: claim from a warm pool (default limits) → `true` exited"))
        provider.removeCgroupParent()
        return results
    }
}
