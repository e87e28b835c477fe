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
        provider.removeCgroupParent()
        return results
    }
}
