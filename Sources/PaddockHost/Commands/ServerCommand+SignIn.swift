import ArgumentParser
import Foundation
import NIOSSL
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore

/// `paddock server`'s flags for people signing in to the web UI and for serving HTTPS.
struct WebOptions: ParsableArguments {
    @Option(help: "PEM certificate chain: serve the API and web UI over HTTPS directly (with --tls-key).")
    var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.") var tlsKey: String?
    @Option(
        help: """
            Where browsers reach this server, such as https://paddock.example.com: invite links and the OIDC \
            redirect URI (<url>/auth/oidc/callback) are made from it.
            """)
    var publicUrl: String?
    @Option(help: "OpenID Connect issuer for single sign-on, exactly as the provider names itself.")
    var oidcIssuer: String?
    @Option(help: "The client id Paddock is registered with at the provider.") var oidcClientId: String?
    @Option(help: "A file holding the client secret (omit for a public client, which relies on PKCE alone).")
    var oidcClientSecretFile: String?
    @Option(help: "An ID token claim listing the person's teams, such as groups; it decides their team memberships.")
    var oidcTeamsClaim: String?

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("give --tls-cert and --tls-key together") }
        if oidcIssuer != nil, oidcClientId == nil || publicUrl == nil {
            throw ValidationError(
                "--oidc-issuer needs --oidc-client-id and --public-url (the redirect URI is <public-url>/auth/oidc/callback)"
            )
        }
        if oidcIssuer == nil, oidcClientId != nil || oidcClientSecretFile != nil || oidcTeamsClaim != nil {
            throw ValidationError("the --oidc-* flags need --oidc-issuer")
        }
        if let publicUrl, !(publicUrl.hasPrefix("https://") || publicUrl.hasPrefix("http://")) {
            throw ValidationError("--public-url takes an http:// or https:// URL, such as https://paddock.example.com")
        }
    }

    /// `configuration` with sign-in (always: passwords and invites work without any flag) and HTTPS when asked.
    func apply(to configuration: ServerConfiguration, store: SQLiteStore, trail: OrgTrail) throws
        -> ServerConfiguration
    {
        var configuration = configuration
        configuration.tls = try tlsConfiguration()
        let publicURL = publicUrl.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        configuration.signIn = SignInService(
            store: store, trail: trail, configuration: SignInConfiguration(publicURL: publicURL),
            oidc: try oidc(publicURL: publicURL))
        return configuration
    }

    func tlsConfiguration() throws -> TLSConfiguration? {
        guard let tlsCert, let tlsKey else { return nil }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(tlsCert) } catch {
            throw PaddockError.invalidArgument(
                "cannot read the certificate chain in \(tlsCert) (\(error)); give a PEM file")
        }
        do { key = try NIOSSLPrivateKey(file: tlsKey, format: .pem) } catch {
            throw PaddockError.invalidArgument("cannot read the private key in \(tlsKey) (\(error)); give a PEM file")
        }
        guard !chain.isEmpty else { throw PaddockError.invalidArgument("\(tlsCert) holds no certificate") }
        return TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    }

    func oidc(publicURL: String?) throws -> OIDCConfiguration? {
        guard let oidcIssuer, let oidcClientId, let publicURL else { return nil }
        var secret: String?
        if let file = oidcClientSecretFile {
            do {
                secret = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines)
            } catch {
                throw PaddockError.invalidArgument(
                    "cannot read the OIDC client secret from \(file); check the path and that the server may read it")
            }
            guard secret?.isEmpty == false else { throw PaddockError.invalidArgument("\(file) is empty") }
        }
        let configuration = OIDCConfiguration(
            issuer: oidcIssuer, clientID: oidcClientId, clientSecret: secret,
            redirectURI: publicURL + "/auth/oidc/callback", teamsClaim: oidcTeamsClaim)
        try configuration.validate()
        return configuration
    }
}
