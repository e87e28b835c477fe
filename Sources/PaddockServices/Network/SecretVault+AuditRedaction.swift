import Logging
import PaddockCore
import PaddockStore

/// The audit trail is scrubbed of every value in the vault, whichever team owns it and whichever session the
/// event belongs to: a person can paste any secret they know into any session (an org secret, another team's
/// value they were given), and the trail — kept for years, exported, read by auditors — must hold none of them.
/// The marker names the secret (`[secret:NAME]`); names are not secret, values are.
extension SecretVault: AuditRedactor {
    static let redactionLogger = Logger(label: "paddock.vault")

    public func auditRedaction() async throws -> AuditRedaction {
        let (generation, cached) = redactionCache.current
        if let cached { return cached }
        var secrets: [(name: String, value: String)] = []
        for stored in try await store.allSecrets() {
            // A value this key cannot open is one the server does not know either: it has nothing to look
            // for, and refusing every audit event for it would stop every session. It is logged by name (the
            // gateway refuses sessions that use such a secret, with how to fix it).
            do { secrets.append((stored.name, try open(stored))) } catch {
                Self.redactionLogger.error(
                    """
                    a vault secret cannot be opened with this server's key, so the audit trail cannot be kept free \
                    of it; set it again or remove it
                    """,
                    metadata: ["secret.name": "\(stored.name)", "secret.team": "\(stored.team)"])
            }
        }
        let redaction = AuditRedaction(secrets: secrets)
        redactionCache.keep(redaction, builtAt: generation)
        return redaction
    }
}
