import PaddockCore
import PaddockStore

/// The audit trail is scrubbed of every value in the vault, whichever team owns it and whichever session the
/// event belongs to: a person can paste any secret they know into any session (an org secret, another team's
/// value they were given), and the trail — kept for years, exported, read by auditors — must hold none of them.
/// The marker names the secret (`[secret:NAME]`); names are not secret, values are.
extension SecretVault: AuditRedactor {
    public func auditRedaction() async throws -> AuditRedaction {
        let (generation, cached) = redactionCache.current
        if let cached { return cached }
        var secrets: [(name: String, value: String)] = []
        for stored in try await store.allSecrets() {
            // A value this key cannot open is one the server does not know either: it has nothing to look
            // for. (The gateway refuses sessions that use such a secret, with how to fix it.)
            guard let value = try? open(stored) else { continue }
            secrets.append((stored.name, value))
        }
        let redaction = AuditRedaction(secrets: secrets)
        redactionCache.keep(redaction, builtAt: generation)
        return redaction
    }
}
