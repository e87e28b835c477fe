import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import PaddockCore
import Synchronization
import _CryptoExtras

/// A small OpenID Connect provider on 127.0.0.1, standing in for a real one (none runs here): a discovery
/// document, a JWKS with one RSA key, an authorize step that hands out a code, and a token endpoint that checks
/// the client's credentials and the PKCE verifier (RFC 7636 §4.6) before returning an RS256 ID token.
///
/// It records what it was sent, so tests can check Paddock's requests against the specs, and `misbehave` makes
/// its next ID tokens wrong in the ways a relying party must catch.
public final class LoopbackIdentityProvider: Sendable {
    /// Ways the next ID tokens go wrong.
    public enum Misbehaviour: String, Sendable, CaseIterable {
        case none
        /// A claim changed after signing.
        case tampered
        /// Signed with another key under the same `kid`.
        case foreignKey
        case wrongNonce
        case wrongAudience
        case wrongIssuer
        case expired
        /// `alg: none`, no signature.
        case unsigned
        /// `alg: HS256` keyed with the RSA public key: the classic algorithm confusion.
        case hmacWithPublicKey
    }

    /// One authorize request as the browser brought it.
    public struct AuthorizeRequest: Sendable {
        public var query: [String: String]
    }

    /// One token request as Paddock sent it.
    public struct TokenRequest: Sendable {
        public var form: [String: String]
        public var authorization: String?
        public var contentType: String?
    }

    /// The person the next authorize step signs in.
    public struct Person: Sendable {
        public var subject: String
        public var preferredUsername: String?
        public var email: String?
        /// The `email_verified` claim; nil leaves it out.
        public var emailVerified: Bool?
        /// nil leaves the claim out of the ID token.
        public var groups: [String]?

        public init(
            subject: String, preferredUsername: String? = nil, email: String? = nil, emailVerified: Bool? = nil,
            groups: [String]? = []
        ) {
            self.subject = subject
            self.preferredUsername = preferredUsername
            self.email = email
            self.emailVerified = emailVerified
            self.groups = groups
        }
    }

    struct Grant: Sendable {
        var clientID: String
        var redirectURI: String
        var challenge: String
        var nonce: String
        var person: Person
    }

    struct State: Sendable {
        var person = Person(subject: "subject-1", preferredUsername: "ada", email: "ada@example.com")
        var misbehaviour = Misbehaviour.none
        var codes: [String: Grant] = [:]
        var authorizeRequests: [AuthorizeRequest] = []
        var tokenRequests: [TokenRequest] = []
        var discoveryFetches = 0
        var keyFetches = 0
        var key: _RSA.Signing.PrivateKey
        var kid = "loopback-key-1"
    }

    public let issuer: String
    public let clientID: String
    public let clientSecret: String
    let foreignKey: _RSA.Signing.PrivateKey
    let state: Mutex<State>
    let task: Task<Void, any Error>

    /// Starts the provider on an ephemeral port of 127.0.0.1.
    public static func start(clientID: String = "paddock", clientSecret: String = "s3cret client/secret")
        async throws -> LoopbackIdentityProvider
    {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let foreignKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let box = Box()
        let router = Router()
        router.get("/.well-known/openid-configuration") { _, _ -> Response in
            try Self.handle(box) { try $0.discovery() }
        }
        router.get("/jwks") { _, _ -> Response in try Self.handle(box) { try $0.jwks() } }
        router.get("/authorize") { request, _ -> Response in
            try Self.handle(box) { idp in
                let location = try idp.authorize(query: Self.query(request.uri.query ?? ""))
                return Response(status: .found, headers: [.location: location])
            }
        }
        router.post("/token") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 16)
            return try Self.handle(box) { idp in
                try idp.token(
                    form: String(buffer: body), authorization: request.headers[.authorization],
                    contentType: request.headers[.contentType])
            }
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "loopback-idp")
        logger.logLevel = .error
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "idp"),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            }, logger: logger)
        let task = Task { try await app.runService() }
        var port = 0
        for await p in ports {
            port = p
            break
        }
        guard port > 0 else {
            task.cancel()
            throw PaddockError.internal("the loopback identity provider did not start")
        }
        let idp = LoopbackIdentityProvider(
            issuer: "http://127.0.0.1:\(port)", clientID: clientID, clientSecret: clientSecret, key: key,
            foreignKey: foreignKey, task: task)
        box.value.withLock { $0 = idp }
        return idp
    }

    private init(
        issuer: String, clientID: String, clientSecret: String, key: _RSA.Signing.PrivateKey,
        foreignKey: _RSA.Signing.PrivateKey, task: Task<Void, any Error>
    ) {
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        state = Mutex(State(key: key))
        self.foreignKey = foreignKey
        self.task = task
    }

    public func stop() { task.cancel() }

    /// Who the next authorize step signs in.
    public func signInAs(_ person: Person) { state.withLock { $0.person = person } }
    public func misbehave(_ m: Misbehaviour) { state.withLock { $0.misbehaviour = m } }
    public var authorizeRequests: [AuthorizeRequest] { state.withLock { $0.authorizeRequests } }
    public var tokenRequests: [TokenRequest] { state.withLock { $0.tokenRequests } }
    public var keyFetches: Int { state.withLock { $0.keyFetches } }

    /// Replaces the signing key and its `kid`, as providers do from time to time.
    public func rotateKey() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        state.withLock {
            $0.key = key
            $0.kid = "loopback-key-\(UUID().uuidString.prefix(8))"
        }
    }

    /// The provider, once it knows its port; the routes are made before that.
    final class Box: Sendable {
        let value = Mutex<LoopbackIdentityProvider?>(nil)
    }

    private static func handle(_ box: Box, _ body: (LoopbackIdentityProvider) throws -> Response) throws -> Response {
        guard let idp = box.value.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
        return try body(idp)
    }

    // MARK: Endpoints

    func discovery() throws -> Response {
        state.withLock { $0.discoveryFetches += 1 }
        return try Self.json([
            "issuer": issuer, "authorization_endpoint": issuer + "/authorize", "token_endpoint": issuer + "/token",
            "jwks_uri": issuer + "/jwks", "response_types_supported": ["code"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        ])
    }

    func jwks() throws -> Response {
        let (key, kid) = state.withLock {
            $0.keyFetches += 1
            return ($0.key, $0.kid)
        }
        let primitives = try key.publicKey.getKeyPrimitives()
        return try Self.json([
            "keys": [
                [
                    "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                    "n": Self.base64URL(primitives.modulus), "e": Self.base64URL(primitives.publicExponent),
                ]
            ]
        ])
    }

    /// The authorize step, as a browser would see it: checks the request (OIDC Core §3.1.2.1, RFC 7636 §4.3)
    /// and returns where the browser is sent back to, with a code and the state.
    public func authorize(url: String) throws -> String {
        guard let query = url.split(separator: "?", maxSplits: 1).last, url.hasPrefix(issuer + "/authorize?") else {
            throw PaddockError.invalidArgument("\(url) is not this provider's authorize URL")
        }
        return try authorize(query: Self.query(String(query)))
    }

    func authorize(query: [String: String]) throws -> String {
        state.withLock { $0.authorizeRequests.append(AuthorizeRequest(query: query)) }
        guard query["response_type"] == "code", query["client_id"] == clientID,
            query["scope"]?.split(separator: " ").contains("openid") == true,
            let redirect = query["redirect_uri"], let state = query["state"], let nonce = query["nonce"],
            query["code_challenge_method"] == "S256", let challenge = query["code_challenge"], challenge.count == 43
        else { throw PaddockError.invalidArgument("bad authorize request: \(query)") }
        let code = "code-" + UUID().uuidString
        self.state.withLock {
            $0.codes[code] = Grant(
                clientID: clientID, redirectURI: redirect, challenge: challenge, nonce: nonce, person: $0.person)
        }
        return redirect + "?code=\(code)&state=\(state)"
    }

    func token(form body: String, authorization: String?, contentType: String?) throws -> Response {
        let form = Self.query(body)
        state.withLock {
            $0.tokenRequests.append(TokenRequest(form: form, authorization: authorization, contentType: contentType))
        }
        let expectedAuth =
            "Basic "
            + Data((Self.formComponent(clientID) + ":" + Self.formComponent(clientSecret)).utf8)
            .base64EncodedString()
        guard authorization == expectedAuth else { return try Self.error("invalid_client", status: .unauthorized) }
        guard form["grant_type"] == "authorization_code", let code = form["code"],
            let grant = state.withLock({ $0.codes.removeValue(forKey: code) })
        else { return try Self.error("invalid_grant") }
        guard form["redirect_uri"] == grant.redirectURI else { return try Self.error("invalid_grant") }
        // RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge.
        guard let verifier = form["code_verifier"], (43...128).contains(verifier.utf8.count),
            verifier.utf8.allSatisfy({ Self.isUnreserved($0) }),
            Self.base64URL(Data(SHA256.hash(data: Data(verifier.utf8)))) == grant.challenge
        else { return try Self.error("invalid_grant") }
        return try Self.json([
            "access_token": "at-" + UUID().uuidString, "token_type": "Bearer", "expires_in": 300,
            "id_token": try idToken(grant),
        ])
    }

    func idToken(_ grant: Grant) throws -> String {
        let (misbehaviour, key, kid) = state.withLock { ($0.misbehaviour, $0.key, $0.kid) }
        let now = Date().timeIntervalSince1970
        var claims: [String: Any] = [
            "iss": misbehaviour == .wrongIssuer ? "https://evil.example.com" : issuer,
            "sub": grant.person.subject,
            "aud": misbehaviour == .wrongAudience ? "someone-else" : grant.clientID,
            "exp": Int(misbehaviour == .expired ? now - 600 : now + 300), "iat": Int(now) - 5,
            "nonce": misbehaviour == .wrongNonce ? "not-the-nonce" : grant.nonce,
        ]
        if let groups = grant.person.groups { claims["groups"] = groups }
        if let name = grant.person.preferredUsername { claims["preferred_username"] = name }
        if let email = grant.person.email { claims["email"] = email }
        if let verified = grant.person.emailVerified { claims["email_verified"] = verified }
        let alg = [Misbehaviour.unsigned: "none", .hmacWithPublicKey: "HS256"][misbehaviour] ?? "RS256"
        let header = Self.base64URL(
            try JSONSerialization.data(withJSONObject: ["alg": alg, "kid": kid, "typ": "JWT"]))
        let payload = Self.base64URL(try JSONSerialization.data(withJSONObject: claims))
        let input = header + "." + payload
        if misbehaviour == .unsigned { return input + "." }
        if misbehaviour == .hmacWithPublicKey {
            let secret = SymmetricKey(data: try key.publicKey.getKeyPrimitives().modulus)
            let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: secret)
            return input + "." + Self.base64URL(Data(mac))
        }
        let signer = misbehaviour == .foreignKey ? foreignKey : key
        let signature = Self.base64URL(
            try signer.signature(for: Data(input.utf8), padding: .insecurePKCS1v1_5).rawRepresentation)
        if misbehaviour == .tampered {
            claims["sub"] = "someone-else"
            let forged = Self.base64URL(try JSONSerialization.data(withJSONObject: claims))
            return header + "." + forged + "." + signature
        }
        return input + "." + signature
    }

    // MARK: Helpers

    static func json(_ object: [String: Any]) throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))))
    }

    static func error(_ code: String, status: HTTPResponse.Status = .badRequest) throws -> Response {
        var response = try json(["error": code])
        response.status = status
        return response
    }

    public static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func isUnreserved(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || "-._~".utf8.contains(c)
    }

    static func formComponent(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// The fields of a query string or urlencoded form (`+` is a space).
    public static func query(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) in s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            out[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return out
    }
}
