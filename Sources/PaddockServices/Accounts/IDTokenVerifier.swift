import Crypto
import Foundation
import _CryptoExtras

/// A JSON value of a token's claims, decoded leniently: providers add claims of every shape.
public enum JSONValue: Sendable, Equatable, Decodable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let v = Self.attempt(Bool.self, c) {
            self = .bool(v)
        } else if let v = Self.attempt(Double.self, c) {
            self = .number(v)
        } else if let v = Self.attempt(String.self, c) {
            self = .string(v)
        } else if let v = Self.attempt([JSONValue].self, c) {
            self = .array(v)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    /// The value as `type`, or nil when it is of another type (the next one is tried).
    private static func attempt<T: Decodable>(_ type: T.Type, _ c: any SingleValueDecodingContainer) -> T? {
        do { return try c.decode(T.self) } catch { return nil }
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// A string, or the strings of an array (other elements left out): how providers send groups.
    public var strings: [String] {
        switch self {
        case .string(let s): [s]
        case .array(let values): values.compactMap(\.string)
        default: []
        }
    }
}

/// A JSON Web Key Set (RFC 7517) as a provider publishes it at its `jwks_uri`. Only public signing keys are used.
public struct JSONWebKeySet: Sendable, Decodable {
    public struct Key: Sendable, Decodable {
        public var kty: String
        public var kid: String?
        public var use: String?
        public var alg: String?
        // RSA
        public var n: String?
        public var e: String?
        // EC
        public var crv: String?
        public var x: String?
        public var y: String?
    }

    public var keys: [Key]
}

/// Why an ID token was refused; `reason` is what the audit trail records.
enum IDTokenError: Error, Equatable {
    case malformed(String)
    case unsupportedAlgorithm(String)
    /// No key of the set has the token's `kid`: the provider may have rotated its keys.
    case unknownKey(String?)
    case badSignature
    case wrongIssuer(String?)
    case wrongAudience
    case wrongAuthorizedParty
    case expired
    case issuedInFuture
    case wrongNonce
    case missingSubject

    var reason: String {
        switch self {
        case .malformed: "id_token_malformed"
        case .unsupportedAlgorithm: "id_token_algorithm"
        case .unknownKey: "id_token_unknown_key"
        case .badSignature: "id_token_signature"
        case .wrongIssuer: "id_token_issuer"
        case .wrongAudience, .wrongAuthorizedParty: "id_token_audience"
        case .expired: "id_token_expired"
        case .issuedInFuture: "id_token_issued_in_future"
        case .wrongNonce: "id_token_nonce"
        case .missingSubject: "id_token_subject"
        }
    }
}

/// Checks an OpenID Connect ID token as OIDC Core §3.1.3.7 asks: the JWS signature against the provider's
/// keys (RS256, the algorithm every provider must offer, and RS384/512, PS256/384/512, ES256/384), then `iss`,
/// `aud` (and `azp` when there are several audiences), `exp`, `iat` and `nonce`.
///
/// The signature math is swift-crypto's (BoringSSL RSA and ECDSA); this type only parses the JWS compact form
/// and picks the key. The algorithm comes from the token's header but must be one of the asymmetric ones
/// above and match the key's type, so a token cannot ask to be checked with `none` or with an HMAC keyed by a
/// public key.
struct IDTokenVerifier: Sendable {
    let issuer: String
    let clientID: String
    /// Clock difference tolerated between the provider and this server.
    var leeway: TimeInterval = 60
    /// What the provider says it signs with (`id_token_signing_alg_values_supported`), narrowed to ours.
    var algorithms: Set<String> = Self.supported

    static let supported: Set<String> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]

    struct Header: Decodable {
        var alg: String
        var kid: String?
        var crit: [String]?
    }

    struct Verified: Sendable {
        var subject: String
        var claims: [String: JSONValue]
    }

    func verify(_ token: String, keys: JSONWebKeySet, nonce: String, now: Date) throws(IDTokenError) -> Verified {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]),
            let payloadBytes = Base64URL.decode(parts[1]), let signature = Base64URL.decode(parts[2])
        else { throw .malformed("not a JWS in compact form") }
        let header: Header
        let claims: [String: JSONValue]
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(headerBytes))
            claims = try JSONDecoder().decode([String: JSONValue].self, from: Data(payloadBytes))
        } catch {
            throw .malformed("header or claims are not JSON objects")
        }
        // Extensions this code does not understand must not be ignored (RFC 7515 §4.1.11).
        if let crit = header.crit, !crit.isEmpty { throw .malformed("critical header parameters \(crit)") }
        guard Self.supported.contains(header.alg), algorithms.contains(header.alg) else {
            throw .unsupportedAlgorithm(header.alg)
        }
        let signingInput = Array(parts[0].utf8) + [UInt8(ascii: ".")] + Array(parts[1].utf8)
        let candidates = keys.keys.filter { key in
            (header.kid == nil || key.kid == header.kid) && key.use != "enc"
                && (key.alg == nil || key.alg == header.alg) && Self.fits(key, header.alg)
        }
        guard !candidates.isEmpty else { throw .unknownKey(header.kid) }
        guard candidates.contains(where: { Self.isValid(signature, signingInput, alg: header.alg, key: $0) }) else {
            throw .badSignature
        }
        try checkClaims(claims, nonce: nonce, now: now)
        guard let subject = claims["sub"]?.string, !subject.isEmpty else { throw .missingSubject }
        return Verified(subject: subject, claims: claims)
    }

    private func checkClaims(_ claims: [String: JSONValue], nonce: String, now: Date) throws(IDTokenError) {
        let iss = claims["iss"]?.string
        guard iss == issuer else { throw .wrongIssuer(iss) }
        let audiences = claims["aud"]?.strings ?? []
        guard audiences.contains(clientID) else { throw .wrongAudience }
        let azp = claims["azp"]?.string
        if audiences.count > 1, azp == nil { throw .wrongAuthorizedParty }
        if let azp, azp != clientID { throw .wrongAuthorizedParty }
        guard case .number(let exp)? = claims["exp"] else { throw .malformed("no exp claim") }
        guard now.timeIntervalSince1970 < exp + leeway else { throw .expired }
        if case .number(let iat)? = claims["iat"], iat > now.timeIntervalSince1970 + leeway {
            throw .issuedInFuture
        }
        guard let sent = claims["nonce"]?.string, Self.equal(sent, nonce) else { throw .wrongNonce }
    }

    private static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Whether `key` is of the type `alg` needs.
    private static func fits(_ key: JSONWebKeySet.Key, _ alg: String) -> Bool {
        switch alg {
        case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512": key.kty == "RSA"
        case "ES256": key.kty == "EC" && key.crv == "P-256"
        case "ES384": key.kty == "EC" && key.crv == "P-384"
        default: false
        }
    }

    /// The smallest RSA modulus accepted, in bits (NIST SP 800-131A).
    static let minimumRSABits = 2048

    private static func isValid(_ signature: [UInt8], _ input: [UInt8], alg: String, key: JSONWebKeySet.Key) -> Bool {
        do {
            switch alg {
            case "ES256":
                guard let x = key.x.flatMap(Base64URL.decode), let y = key.y.flatMap(Base64URL.decode) else {
                    return false
                }
                let publicKey = try P256.Signing.PublicKey(rawRepresentation: x + y)
                let sig = try P256.Signing.ECDSASignature(rawRepresentation: signature)
                return publicKey.isValidSignature(sig, for: SHA256.hash(data: input))
            case "ES384":
                guard let x = key.x.flatMap(Base64URL.decode), let y = key.y.flatMap(Base64URL.decode) else {
                    return false
                }
                let publicKey = try P384.Signing.PublicKey(rawRepresentation: x + y)
                let sig = try P384.Signing.ECDSASignature(rawRepresentation: signature)
                return publicKey.isValidSignature(sig, for: SHA384.hash(data: input))
            default:
                guard let n = key.n.flatMap(Base64URL.decode), let e = key.e.flatMap(Base64URL.decode) else {
                    return false
                }
                let publicKey = try _RSA.Signing.PublicKey(n: Data(n), e: Data(e))
                guard publicKey.keySizeInBits >= minimumRSABits else { return false }
                let sig = _RSA.Signing.RSASignature(rawRepresentation: signature)
                let padding: _RSA.Signing.Padding = alg.hasPrefix("PS") ? .PSS : .insecurePKCS1v1_5
                switch alg.suffix(3) {
                case "256": return publicKey.isValidSignature(sig, for: SHA256.hash(data: input), padding: padding)
                case "384": return publicKey.isValidSignature(sig, for: SHA384.hash(data: input), padding: padding)
                default: return publicKey.isValidSignature(sig, for: SHA512.hash(data: input), padding: padding)
                }
            }
        } catch {
            // A key or signature of the wrong shape verifies nothing; the caller reports a bad signature.
            return false
        }
    }
}
