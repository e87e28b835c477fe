import Foundation
import PaddockCore
import PaddockStore

/// Webhook secrets are kept sealed with the vault key (`<data-dir>/vault.key`), like the vault's own values, so a
/// copy of the database alone cannot sign a request. A server without a vault keeps them as they are (the
/// database is mode 0600).
extension AutomationService {
    static func secretContext(_ automation: String) -> String { "paddock-automation-secret:\(automation)" }

    /// What goes into the store for a new automation's secret.
    func sealed(_ secret: String?, automation: String) async throws -> String? {
        guard let secret else { return nil }
        guard let vault = await vault() else { return secret }
        return try vault.seal(secret, context: Self.secretContext(automation))
    }

    /// The secret from what the store holds: sealed, or plain from before sealing (until `sealPlainSecrets`).
    func opened(_ stored: String, automation: String) async throws -> String {
        guard stored.hasPrefix(SecretVault.sealedPrefix) else { return stored }
        guard let vault = await vault() else {
            throw PaddockError.unavailable(
                "the webhook secret of automation \(automation) is sealed with the vault key, and this server runs "
                    + "without a vault; start it with the same data directory and its vault.key")
        }
        return try vault.unseal(stored, context: Self.secretContext(automation))
    }

    /// At start: seals the secrets stored in plain text by an earlier version. One that fails stays as it is and
    /// keeps working; the next start tries again.
    func sealPlainSecrets() async {
        guard let vault = await vault() else { return }
        do {
            for automation in try await store.automations() where automation.spec.source == .webhook {
                guard let stored = try await store.automationSecret(automation.id),
                    !stored.hasPrefix(SecretVault.sealedPrefix)
                else { continue }
                do {
                    try await store.setAutomationSecret(
                        automation.id, secret: try vault.seal(stored, context: Self.secretContext(automation.id)))
                } catch {
                    logger.error(
                        "could not seal a webhook secret; it stays in plain text until the next start",
                        metadata: ["automation.id": "\(automation.id)", "error": "\(error)"])
                }
            }
        } catch {
            logger.error("could not read the automations to seal their secrets", metadata: ["error": "\(error)"])
        }
    }
}
