import Foundation
import PaddockCore

/// Single sign-on with an OpenID Connect provider: who it is and how Paddock is registered there.
public struct OIDCConfiguration: Sendable, CustomStringConvertible {
    /// The provider's issuer URL, exactly as it names itself (`https://login.example.com/realms/eng`).
    public var issuer: String
    public var clientID: String
    /// The client secret; nil for a public client (PKCE alone). Secret.
    public var clientSecret: String?
    /// Where the provider sends the browser back: `<public URL>/auth/oidc/callback`, registered with it.
    public var redirectURI: String
    /// A claim naming the person's teams (`groups`): at each sign-in they become a member of exactly the
    /// Paddock teams it names. nil: single sign-on leaves teams alone.
    public var teamsClaim: String?
    public var scopes: [String]
    /// The role of people whose first sign-in creates their account.
    public var defaultRole: Role

    public init(
        issuer: String, clientID: String, clientSecret: String?, redirectURI: String, teamsClaim: String? = nil,
        scopes: [String] = ["openid", "profile", "email"], defaultRole: Role = .member
    ) {
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.redirectURI = redirectURI
        self.teamsClaim = teamsClaim
        self.scopes = scopes.contains("openid") ? scopes : ["openid"] + scopes
        self.defaultRole = defaultRole
    }

    /// Says everything but the secret.
    public var description: String {
        "OIDC \(issuer) client \(clientID)\(clientSecret == nil ? " (public)" : "") → \(redirectURI)"
    }

    /// Refuses what cannot work or would not be safe: an issuer or redirect that is not HTTPS (loopback
    /// addresses excepted, for local providers and tests), an empty client id.
    public func validate() throws(PaddockError) {
        guard !clientID.isEmpty else {
            throw .invalidArgument("--oidc-client-id is empty; give the id registered at the provider")
        }
        try Self.checkURL(issuer, what: "the OIDC issuer (--oidc-issuer)")
        try Self.checkURL(redirectURI, what: "the OIDC redirect URI (from --public-url)")
        guard defaultRole != .owner else { throw .invalidArgument("single sign-on cannot create owners") }
    }

    /// HTTPS, or plain HTTP to this machine.
    static func checkURL(_ text: String, what: String) throws(PaddockError) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else { throw .invalidArgument("\(what) '\(text)' is not an absolute URL") }
        guard scheme == "https" || (scheme == "http" && isLoopback(host)) else {
            throw .invalidArgument("\(what) '\(text)' must use https (plain http is accepted for loopback only)")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }
}

/// What a provider publishes at `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery §3);
/// only the fields Paddock uses.
struct OIDCProviderMetadata: Sendable, Decodable {
    var issuer: String
    var authorizationEndpoint: String
    var tokenEndpoint: String
    var jwksURI: String
    var tokenEndpointAuthMethodsSupported: [String]?
    var idTokenSigningAlgValuesSupported: [String]?
    var codeChallengeMethodsSupported: [String]?

    enum CodingKeys: String, CodingKey {
        case issuer
        case authorizationEndpoint = "authorization_endpoint"
        case tokenEndpoint = "token_endpoint"
        case jwksURI = "jwks_uri"
        case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
        case idTokenSigningAlgValuesSupported = "id_token_signing_alg_values_supported"
        case codeChallengeMethodsSupported = "code_challenge_methods_supported"
    }
}
