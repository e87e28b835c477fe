import Foundation
import PaddockCore

/// A vault secret as stored: the value only sealed (AES-GCM under a key kept outside the database).
public struct StoredSecret: Sendable, Equatable {
    public var team: String
    public var name: String
    /// Host patterns the value may be sent to.
    public var hosts: [String]
    /// Whether the value may be injected into plaintext HTTP.
    public var allowHTTP: Bool
    /// Whether placeholders in request bodies are swapped too (not only headers and the request target).
    public var inBody: Bool
    /// nonce + ciphertext + tag (`AES.GCM.SealedBox.combined`).
    public var sealed: Data
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        team: String, name: String, hosts: [String], allowHTTP: Bool, inBody: Bool = false, sealed: Data,
        createdAt: Date, updatedAt: Date
    ) {
        self.team = team
        self.name = name
        self.hosts = hosts
        self.allowHTTP = allowHTTP
        self.inBody = inBody
        self.sealed = sealed
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Where the secrets vault keeps its sealed values.
public protocol SecretStore: Sendable {
    /// Inserts or replaces the secret `(team, name)`.
    func putSecret(_ secret: StoredSecret) async throws
    func secret(team: String, name: String) async throws -> StoredSecret?
    /// A team's secrets, by name.
    func secrets(team: String) async throws -> [StoredSecret]
    /// Every team's secrets (the audit trail is scrubbed of all of them).
    func allSecrets() async throws -> [StoredSecret]
    /// Returns whether there was one to delete.
    func deleteSecret(team: String, name: String) async throws -> Bool
}
