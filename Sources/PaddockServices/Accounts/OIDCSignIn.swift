import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PaddockCore
import PaddockStore

/// Single sign-on with any OpenID Connect provider: the authorization code flow with PKCE (RFC 7636, S256),
/// `state` against login CSRF and `nonce` against replayed ID tokens (OIDC Core §3.1).
///
/// `start` makes the provider URL the browser is sent to and remembers the flow's secrets under its `state`;
/// the door also gives the browser a short-lived cookie holding that `state`, so a callback carrying someone
/// else's `state` (an attacker's half-finished sign-in, sent to a victim) is refused. `finish` exchanges the
/// code at the token endpoint with the PKCE verifier, checks the ID token (`IDTokenVerifier`), finds or creates
/// the person, maps the teams claim onto Paddock teams and starts a browser session.
///
/// Flows in progress live in memory for ten minutes: a restart only makes someone click "sign in" again.
public actor OIDCSignIn {
    /// A flow started: send the browser to `url`, and give it `state` in the flow cookie.
    public struct Start: Sendable, CustomStringConvertible {
        public let url: String
        /// Secret until the provider echoes it back.
        public let state: String
        public var description: String { "OIDC sign-in to \(url.prefix { $0 != "?" })" }
    }

    /// A finished sign-in: the session, and the local path the browser asked to return to.
    public struct Finish: Sendable {
        public let session: IssuedBrowserSession
        public let returnTo: String
    }

    struct Pending: Sendable {
        var nonce: String
        var verifier: String
        var returnTo: String
        var createdAt: Date
    }

    public nonisolated let configuration: OIDCConfiguration
    let store: any AccountStore & AccessStore
    let sessions: BrowserSessions
    let trail: OrgTrail
    let httpClient: HTTPClient
    let logger: Logger
    let clock: @Sendable () -> Date

    private var pending: [String: Pending] = [:]
    private var metadata: (value: OIDCProviderMetadata, at: Date)?
    private var keys: (value: JSONWebKeySet, at: Date)?

    /// How long a started flow may take to come back.
    static let flowLifetime: TimeInterval = 600
    /// Flows remembered at most: starting one needs no credentials, so the table must not grow without bound.
    static let maxPending = 10_000
    /// How long discovery and keys are trusted before being fetched again.
    static let cacheLifetime: TimeInterval = 3600
    /// A key id not in the set makes the keys be fetched again (the provider rotated them), at most this often.
    static let keyRefetchInterval: TimeInterval = 30
    /// The largest answer read from the provider.
    static let maxResponseBytes = 1 << 20

    init(
        configuration: OIDCConfiguration, store: any AccountStore & AccessStore, sessions: BrowserSessions,
        trail: OrgTrail, httpClient: HTTPClient, logger: Logger, clock: @escaping @Sendable () -> Date
    ) {
        self.configuration = configuration
        self.store = store
        self.sessions = sessions
        self.trail = trail
        self.httpClient = httpClient
        self.logger = logger
        self.clock = clock
    }

    // MARK: Start

    /// Begins a sign-in. `returnTo` is a local path to land on afterwards (anything else becomes `/`).
    public func start(returnTo: String?) async throws -> Start {
        let provider = try await discover()
        let now = clock()
        prune(now: now)
        let state = Self.random()
        let verifier = Self.random()
        let nonce = Self.random()
        pending[state] = Pending(nonce: nonce, verifier: verifier, returnTo: Self.localPath(returnTo), createdAt: now)
        let query = Self.formEncode([
            ("response_type", "code"), ("client_id", configuration.clientID),
            ("redirect_uri", configuration.redirectURI), ("scope", configuration.scopes.joined(separator: " ")),
            ("state", state), ("nonce", nonce), ("code_challenge", Self.challenge(verifier)),
            ("code_challenge_method", "S256"),
        ])
        let separator = provider.authorizationEndpoint.contains("?") ? "&" : "?"
        return Start(url: provider.authorizationEndpoint + separator + query, state: state)
    }

    /// 32 random bytes, base64url: 43 characters of RFC 7636's unreserved set, as its §4.1 recommends.
    static func random() -> String {
        var rng = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    /// `S256`: BASE64URL(SHA256(ASCII(code_verifier))) (RFC 7636 §4.2).
    static func challenge(_ verifier: String) -> String { Base64URL.encode(SHA256.hash(data: Data(verifier.utf8))) }

    /// A path on this server, or `/`: never another site (an open redirect).
    static func localPath(_ path: String?) -> String {
        guard let path, path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("\\"),
            !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
        else { return "/" }
        return path
    }

    private func prune(now: Date) {
        pending = pending.filter { now.timeIntervalSince($0.value.createdAt) < Self.flowLifetime }
        if pending.count >= Self.maxPending {
            for (state, _) in pending.sorted(by: { $0.value.createdAt < $1.value.createdAt })
                .prefix(pending.count - Self.maxPending + 1)
            {
                pending[state] = nil
            }
        }
    }

    // MARK: Finish

    /// Completes a sign-in from the provider's redirect. `browserState` is the flow cookie's value. Every
    /// refusal is recorded as `signin.failed` with its reason, and answered `unauthenticated` with what to do.
    public func finish(
        code: String?, state: String?, error providerError: String?, browserState: String?, address: String?,
        userAgent: String?
    ) async throws -> Finish {
        // A state is used once, whatever happens next: a replayed callback finds nothing.
        let flow = state.flatMap { pending.removeValue(forKey: $0) }
        if let providerError {
            throw try await refuse(
                "provider_error", "the provider refused the sign-in (\(providerError.prefix(64)))", address)
        }
        guard let state, let flow, let browserState, Self.same(browserState, state) else {
            throw try await refuse("state_mismatch", "this sign-in was not started by this browser", address)
        }
        guard clock().timeIntervalSince(flow.createdAt) < Self.flowLifetime else {
            throw try await refuse("flow_expired", "the sign-in took longer than ten minutes", address)
        }
        guard let code, !code.isEmpty else {
            throw try await refuse("no_code", "the provider sent no authorization code", address)
        }
        let provider: OIDCProviderMetadata
        let verified: IDTokenVerifier.Verified
        do {
            provider = try await discover()
        } catch {
            try await record("provider_unavailable", address)
            throw error
        }
        let idToken: String
        do {
            idToken = try await exchange(code: code, verifier: flow.verifier, provider: provider)
        } catch let e as PaddockError {
            logger.warning("the OIDC token exchange failed", metadata: ["error": "\(e.message)"])
            throw try await refuse("token_exchange", "the provider did not accept the sign-in", address)
        }
        do {
            verified = try await verify(idToken, nonce: flow.nonce, provider: provider)
        } catch let e as IDTokenError {
            logger.warning("an ID token was refused", metadata: ["reason": "\(e.reason)"])
            throw try await refuse(e.reason, "the provider's answer did not check out", address)
        } catch {
            try await record("provider_unavailable", address)
            throw error
        }
        let (account, created) = try await account(for: verified)
        var fields: [String: AuditValue] = [
            "issuer": .string(configuration.issuer), "subject": .string(verified.subject),
            "created": .bool(created),
        ]
        if let email = await rememberVerifiedEmail(verified, account: account.name) {
            fields["verified_email"] = .string(email)
        }
        if let claim = configuration.teamsClaim {
            if let value = verified.claims[claim] {
                // Keycloak writes groups as paths (`/engineering`); a team is named without the slash.
                let names = Set(value.strings.map { String($0.drop { $0 == "/" }).lowercased() })
                let change = try await store.syncMemberships(user: account.name, teams: names)
                fields["teams_added"] = .strings(change.added)
                fields["teams_removed"] = .strings(change.removed)
            } else {
                // A token without the claim says nothing about teams (the provider may not put it in ID tokens):
                // taking that as "no teams" would empty everyone's memberships.
                logger.warning(
                    "the ID token has no teams claim; memberships left as they were",
                    metadata: ["oidc.claim": "\(claim)", "user": "\(account.name)"])
                fields["teams_claim"] = .string("absent")
            }
        }
        let session = try await sessions.signIn(
            account: account, method: "oidc", kind: "signin.oidc", address: address, userAgent: userAgent,
            fields: fields)
        return Finish(session: session, returnTo: flow.returnTo)
    }

    private static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        return x.count == y.count && zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Records a refused sign-in and returns the error that says so.
    private func refuse(_ reason: String, _ what: String, _ address: String?) async throws -> PaddockError {
        try await record(reason, address)
        return PaddockError(.unauthenticated, "single sign-on failed: \(what); start again from the sign-in page")
    }

    private func record(_ reason: String, _ address: String?) async throws {
        try await trail.record(
            "signin.failed",
            [
                "reason": .string(reason), "method": .string("oidc"), "issuer": .string(configuration.issuer),
                "address": .optional(address),
            ], actor: OrgTrail.anonymousSignIn)
    }

    /// The person an identity signs in as: the one it signed in as before, or a new account named after the
    /// provider's `preferred_username` (else the email's local part, else `sso`), made unique. An existing
    /// account is never taken over by name: a provider's user named `owner` gets `owner-2`.
    private func account(for verified: IDTokenVerifier.Verified) async throws -> (UserAccount, Bool) {
        let issuer = configuration.issuer
        if let name = try await store.oidcUser(issuer: issuer, subject: verified.subject) {
            guard let account = try await store.user(name) else {
                throw PaddockError.conflict("the account of this identity was removed a moment ago; sign in again")
            }
            return (account, false)
        }
        let offered = [
            verified.claims["preferred_username"]?.string,
            verified.claims["email"]?.string.map { String($0.prefix { $0 != "@" }) },
        ]
        let base = offered.compactMap { $0.flatMap(UserName.derive) }.first ?? "sso"
        for attempt in 1...20 {
            let suffix = attempt == 1 ? "" : "-\(attempt)"
            let name = String(base.prefix(64 - suffix.count)) + suffix
            guard try await store.user(name) == nil else { continue }
            let account = UserAccount(name: name, role: configuration.defaultRole, createdAt: clock())
            do {
                try await store.insertOIDCUser(account, issuer: issuer, subject: verified.subject)
                return (account, true)
            } catch let e as PaddockError where e.code == .alreadyExists {
                // Another sign-in took the name (or linked this identity) between the check and the insert.
                if let linked = try await store.oidcUser(issuer: issuer, subject: verified.subject),
                    let existing = try await store.user(linked)
                {
                    return (existing, false)
                }
            }
        }
        throw PaddockError.conflict(
            "no free user name was found for this identity (tried '\(base)' to '\(base)-20'); ask an admin")
    }

    /// Keeps the address the provider vouched for (`email_verified: true`) with the account, so Slack users with
    /// the same confirmed address map to this person. An address already held by another account is not moved
    /// (said in the log): a mapping that changes hands by itself would hand one person's Slack to another.
    /// Returns the address kept.
    private func rememberVerifiedEmail(_ verified: IDTokenVerifier.Verified, account: String) async -> String? {
        guard case .bool(true)? = verified.claims["email_verified"], let email = verified.claims["email"]?.string,
            email.utf8.count <= 254, email.contains("@"), let emails = store as? any VerifiedEmailStore
        else { return nil }
        do {
            try await emails.setVerifiedEmail(user: account, email: email)
            return email.lowercased()
        } catch {
            logger.warning(
                "the verified e-mail address of a sign-in was not kept (another account holds it?)",
                metadata: ["user": "\(account)", "error": "\(error)"])
            return nil
        }
    }

    // MARK: Provider calls

    /// The provider's metadata, fetched from its discovery document and cached.
    func discover() async throws -> OIDCProviderMetadata {
        if let metadata, clock().timeIntervalSince(metadata.at) < Self.cacheLifetime { return metadata.value }
        let issuer = configuration.issuer
        let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        let document: OIDCProviderMetadata = try await fetchJSON(
            base + "/.well-known/openid-configuration", what: "the OIDC discovery document")
        // OpenID Connect Discovery §4.3: the issuer it names must be exactly the one asked about.
        guard document.issuer == issuer else {
            throw PaddockError.unavailable(
                "the OIDC provider names itself '\(document.issuer)', not '\(issuer)'; pass exactly that as "
                    + "--oidc-issuer")
        }
        for (url, what) in [
            (document.authorizationEndpoint, "its authorization endpoint"),
            (document.tokenEndpoint, "its token endpoint"),
            (document.jwksURI, "its jwks_uri"),
        ] {
            try OIDCConfiguration.checkURL(url, what: "the OIDC provider's \(what)")
        }
        metadata = (document, clock())
        return document
    }

    /// Exchanges the authorization code for tokens (RFC 6749 §4.1.3 with RFC 7636 §4.5's `code_verifier`);
    /// returns the ID token. The client authenticates with HTTP Basic (`client_secret_basic`, the default)
    /// or in the body (`client_secret_post`) as the provider offers; a public client sends only its id.
    private func exchange(code: String, verifier: String, provider: OIDCProviderMetadata) async throws -> String {
        var form = [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", configuration.redirectURI),
            ("code_verifier", verifier),
        ]
        var request = HTTPClientRequest(url: provider.tokenEndpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        if let secret = configuration.clientSecret {
            let methods = provider.tokenEndpointAuthMethodsSupported ?? ["client_secret_basic"]
            if methods.contains("client_secret_basic") {
                // RFC 6749 §2.3.1: both parts are form-encoded before they are joined and base64-encoded.
                let pair = Self.formComponent(configuration.clientID) + ":" + Self.formComponent(secret)
                request.headers.add(name: "Authorization", value: "Basic " + Data(pair.utf8).base64EncodedString())
            } else if methods.contains("client_secret_post") {
                form += [("client_id", configuration.clientID), ("client_secret", secret)]
            } else {
                throw PaddockError.unavailable(
                    "the OIDC provider offers no client authentication Paddock speaks (\(methods.joined(separator: ", "))); "
                        + "register the client for client_secret_basic or client_secret_post")
            }
        } else {
            form.append(("client_id", configuration.clientID))
        }
        request.body = .bytes(ByteBuffer(string: Self.formEncode(form)))
        struct TokenResponse: Decodable {
            var idToken: String?
            enum CodingKeys: String, CodingKey { case idToken = "id_token" }
        }
        let response: TokenResponse = try await send(request, what: "the OIDC token endpoint")
        guard let idToken = response.idToken else {
            throw PaddockError.unavailable("the OIDC token endpoint returned no id_token; is the openid scope allowed?")
        }
        return idToken
    }

    /// Verifies against the cached keys; a key id the set lacks fetches the set again once (key rotation).
    private func verify(_ token: String, nonce: String, provider: OIDCProviderMetadata) async throws
        -> IDTokenVerifier.Verified
    {
        var verifier = IDTokenVerifier(issuer: configuration.issuer, clientID: configuration.clientID)
        if let offered = provider.idTokenSigningAlgValuesSupported {
            verifier.algorithms = IDTokenVerifier.supported.intersection(offered)
        }
        let now = clock()
        let current: JSONWebKeySet
        if let keys, now.timeIntervalSince(keys.at) < Self.cacheLifetime {
            current = keys.value
        } else {
            current = try await fetchKeys(provider)
        }
        do throws(IDTokenError) {
            return try verifier.verify(token, keys: current, nonce: nonce, now: now)
        } catch .unknownKey(let kid) {
            guard let keys, now.timeIntervalSince(keys.at) >= Self.keyRefetchInterval else {
                throw IDTokenError.unknownKey(kid)
            }
            return try verifier.verify(token, keys: try await fetchKeys(provider), nonce: nonce, now: now)
        }
    }

    private func fetchKeys(_ provider: OIDCProviderMetadata) async throws -> JSONWebKeySet {
        let set: JSONWebKeySet = try await fetchJSON(provider.jwksURI, what: "the OIDC provider's keys")
        keys = (set, clock())
        return set
    }

    private func fetchJSON<T: Decodable>(_ url: String, what: String) async throws -> T {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        return try await send(request, what: what)
    }

    private func send<T: Decodable>(_ request: HTTPClientRequest, what: String) async throws -> T {
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: .seconds(15))
            body = try await response.body.collect(upTo: Self.maxResponseBytes)
        } catch {
            throw PaddockError.unavailable(
                "cannot reach \(what) at \(request.url); check the provider is up and reachable", underlying: error)
        }
        guard response.status == .ok else {
            // The provider's error code only (RFC 6749 §5.2), never the body: it may echo what was sent.
            let code = Self.errorCode(body)
            throw PaddockError.unavailable("\(what) answered \(response.status.code)\(code.map { " (\($0))" } ?? "")")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw PaddockError.unavailable("\(what) at \(request.url) is not the JSON expected", underlying: error)
        }
    }

    private static func errorCode(_ body: ByteBuffer) -> String? {
        struct ErrorBody: Decodable { var error: String }
        do {
            let code = try JSONDecoder().decode(ErrorBody.self, from: Data(body.readableBytesView)).error
            return String(code.prefix(64))
        } catch {
            return nil
        }
    }

    // MARK: Form encoding

    /// `application/x-www-form-urlencoded`, each name and value percent-encoded but for RFC 3986's unreserved
    /// characters.
    static func formEncode(_ pairs: [(String, String)]) -> String {
        pairs.map { formComponent($0.0) + "=" + formComponent($0.1) }.joined(separator: "&")
    }

    static func formComponent(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
