import Foundation
import PaddockConfig
import PaddockCore

extension Session {
    /// The runtime.yml policy stored with the session (org → team → repository → session layers), or nil when it
    /// runs under none. A stored policy that cannot be read is an error, never "no policy": reading it as absent
    /// would drop the org and team layers and open what they close (network, changes), so every caller refuses
    /// the action instead.
    func effectivePolicy() throws(PaddockError) -> EffectivePolicy? {
        guard let policy else { return nil }
        do {
            return try JSONDecoder().decode(EffectivePolicy.self, from: Data(policy.effective.utf8))
        } catch {
            throw PaddockError(
                .internal,
                "the policy stored with session \(id) cannot be read, so its network, commands and changes are refused; "
                    + "destroy the session and start a new one", underlying: error)
        }
    }
}
