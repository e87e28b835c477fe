import PaddockCore

/// The vault behind the doors: setting and removing a secret is authorized (owners and admins) and recorded
/// in the organisation's audit trail — by name, hosts and team, never the value.
public struct SecretService: Sendable {
    let vault: SecretVault
    let trail: OrgTrail

    public init(vault: SecretVault, trail: OrgTrail) {
        self.vault = vault
        self.trail = trail
    }

    public func set(
        name: String, team: String?, value: String, hosts: [String], allowHTTP: Bool, inBody: Bool, by caller: Caller
    ) async throws -> SecretVault.Info {
        try caller.authorizeOrg(.admin)
        let info = try await vault.set(
            name: name, team: team, value: value, hosts: hosts, allowHTTP: allowHTTP, inBody: inBody)
        try await trail.record(
            "secret.set",
            ["name": .string(name), "team": .optional(team), "hosts": .strings(hosts), "in_body": .bool(inBody)],
            by: caller)
        return info
    }

    public func list(team: String?, by caller: Caller) async throws -> [SecretVault.Info] {
        try caller.authorizeOrg(.admin)
        return try await vault.list(team: team)
    }

    public func remove(name: String, team: String?, by caller: Caller) async throws {
        try caller.authorizeOrg(.admin)
        try await vault.remove(name: name, team: team)
        try await trail.record("secret.remove", ["name": .string(name), "team": .optional(team)], by: caller)
    }
}
