import PaddockCore

/// One entry of `secrets:` — a vault secret the sandbox sees only as a placeholder, and the hosts the egress
/// gateway may swap the real value in for.
public struct SecretConfig: Sendable, Equatable, Codable {
    /// The environment variable name the placeholder appears under (`STRIPE_API_KEY`).
    public var name: String
    /// Host patterns (`api.stripe.com`, `*.stripe.com:443`) the real value may be sent to.
    public var hosts: [Sourced<String>]
    /// Where the secret's name was written.
    public var origin: RuleOrigin?

    public init(name: String, hosts: [Sourced<String>], origin: RuleOrigin? = nil) {
        self.name = name
        self.hosts = hosts
        self.origin = origin
    }
}
