import Logging
import PaddockConfig
import PaddockCore

extension SessionPolicy.Source {
    private static let logger = Logger(label: "paddock.policy")

    /// The layer read back as runtime.yml. Layers were validated when the session was made; one that no longer
    /// parses (a newer schema stored by a newer server) is logged, and the caller goes on with the other layers'
    /// word on `what` rather than fail the session's every run and diff.
    func config(for what: String) -> RuntimeConfig? {
        do { return try RuntimeConfig.parse(text, file: file) } catch {
            Self.logger.warning(
                "a stored policy layer no longer parses; its \(what) is left out",
                metadata: ["policy.layer": "\(layer)", "policy.file": "\(file)", "error": "\(error)"])
            return nil
        }
    }
}
