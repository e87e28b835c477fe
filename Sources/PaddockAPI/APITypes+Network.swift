import Foundation
import PaddockCore

extension CreateSessionBody {
    /// Secrets and network rules into the spec, checked so a bad one is refused before anything is created.
    func applyNetwork(to spec: inout SessionSpec) throws(PaddockError) {
        if let secrets, !secrets.isEmpty {
            for name in secrets where spec.env[name] != nil {
                throw .invalidArgument(
                    "\(name) is both an --env variable and a --secret; the secret's placeholder takes that name, "
                        + "so drop one")
            }
            guard Set(secrets).count == secrets.count else {
                throw .invalidArgument("a secret is listed twice; list each once")
            }
            spec.secrets = secrets
        }
        let allow = allow ?? []
        let deny = deny ?? []
        guard !allow.isEmpty || !deny.isEmpty else { return }
        let rules = PolicyRuleSet(default: nil, allow: allow, deny: deny, origin: RuleOrigin(layer: "session"))
        do { _ = try NetworkPolicy(rules) } catch { throw .invalidArgument("network: \(error.message)") }
        spec.network = rules
    }
}

/// `PUT /v1/secrets/:name`: the value goes in and never comes out.
public struct SetSecretBody: Codable, Sendable {
    public var value: String
    public var hosts: [String]
    public var team: String?
    public var allowHttp: Bool?
    /// Swap the placeholder in request bodies to the secret's hosts too.
    public var inBody: Bool?

    public init(value: String, hosts: [String], team: String? = nil, allowHttp: Bool? = nil, inBody: Bool? = nil) {
        self.value = value
        self.hosts = hosts
        self.team = team
        self.allowHttp = allowHttp
        self.inBody = inBody
    }
}

/// A secret as the API reports it: name, team and hosts, never the value.
public struct SecretBody: Codable, Sendable, Equatable {
    public var name: String
    public var team: String
    public var hosts: [String]
    public var allowHttp: Bool
    public var inBody: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        name: String, team: String, hosts: [String], allowHttp: Bool, inBody: Bool, createdAt: Date, updatedAt: Date
    ) {
        self.name = name
        self.team = team
        self.hosts = hosts
        self.allowHttp = allowHttp
        self.inBody = inBody
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct SecretListBody: Codable, Sendable {
    public var secrets: [SecretBody]
    public init(secrets: [SecretBody]) { self.secrets = secrets }
}

/// `PUT /v1/sessions/:id/network`: rules added to the session layer (or replacing it), applied live.
public struct NetworkChangeBody: Codable, Sendable {
    public var allow: [String]?
    public var deny: [String]?
    public var replace: Bool?

    public init(allow: [String]? = nil, deny: [String]? = nil, replace: Bool? = nil) {
        self.allow = allow
        self.deny = deny
        self.replace = replace
    }
}

/// A session's network rules (the session layer).
public struct NetworkBody: Codable, Sendable, Equatable {
    public var allow: [String]
    public var deny: [String]
    public var ask: [String]

    public init(_ rules: PolicyRuleSet?) {
        allow = rules?.rules(.allow).map(\.pattern) ?? []
        deny = rules?.rules(.deny).map(\.pattern) ?? []
        ask = rules?.rules(.ask).map(\.pattern) ?? []
    }
}
