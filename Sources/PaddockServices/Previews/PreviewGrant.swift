import Crypto
import Foundation
import PaddockCore
import Synchronization

/// A signed permission to view one port of one session, carried by the preview host's own cookie (or, for a
/// minute, by the one-use exchange URL that sets that cookie). It names the viewer and, for a share link's
/// visitors, the share: revoking the share ends it on the next request, open connections included.
public struct PreviewGrant: Sendable, Equatable, Codable {
    public var session: SessionID
    public var port: UInt16
    /// The visitor as the trail and the app see them: a user name, or `anonymous` for a public link's holder.
    public var viewer: String
    /// The share link it came from (its revocation id); nil for a member's own access.
    public var share: String?
    /// The credential the visitor was let in with — a browser session (`web:<id>`) or a token id — for a
    /// member's own access and share links to people signed in: re-checked while the grant is used, so signing
    /// out, a revoked token or leaving the team ends it. nil for a public link's holder.
    public var credential: String?
    /// Unix seconds.
    public var expires: Int64
    /// Makes each exchange token unique, so it can be used once.
    public var nonce: String?
    /// When an exchange token was made (unix seconds); it is good for a minute.
    public var issued: Int64?

    public init(
        session: SessionID, port: UInt16, viewer: String, share: String?, expiresAt: Date, nonce: String? = nil,
        issuedAt: Date? = nil, credential: String? = nil
    ) {
        self.session = session
        self.port = port
        self.viewer = viewer
        self.share = share
        self.credential = credential
        expires = Int64(expiresAt.timeIntervalSince1970)
        self.nonce = nonce
        issued = issuedAt.map { Int64($0.timeIntervalSince1970) }
    }

    public var expiresAt: Date { Date(timeIntervalSince1970: TimeInterval(expires)) }

    /// What a token is for: a cookie token is never accepted as an exchange token, nor the other way round.
    enum Purpose: String {
        case cookie = "paddock preview cookie v1"
        case exchange = "paddock preview exchange v1"
    }

    /// `base64url(JSON).base64url(HMAC-SHA256(key, purpose.payload))`.
    func token(_ purpose: Purpose, key: SymmetricKey) throws -> String {
        let payload = Base64URL.encode(try JSONEncoder().encode(self))
        return payload + "." + Self.mac(payload, purpose, key)
    }

    /// The grant a token carries, if its signature is ours for `purpose`. Expiry is the caller's check.
    static func verify(_ token: String, _ purpose: Purpose, key: SymmetricKey) -> PreviewGrant? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 4096, parts.count == 2, let mac = Base64URL.decode(String(parts[1])),
            HMAC<SHA256>.isValidAuthenticationCode(
                mac, authenticating: Data((purpose.rawValue + "." + parts[0]).utf8), using: key),
            let json = Base64URL.decode(String(parts[0]))
        else { return nil }
        do { return try JSONDecoder().decode(PreviewGrant.self, from: Data(json)) } catch {
            // Signed by us yet unreadable: a token of another version. Refusing it is the whole answer; the
            // visitor is sent to sign in again, which makes a token of this version.
            return nil
        }
    }

    static func mac(_ payload: String, _ purpose: Purpose, _ key: SymmetricKey) -> String {
        Base64URL.encode(
            Array(HMAC<SHA256>.authenticationCode(for: Data((purpose.rawValue + "." + payload).utf8), using: key)))
    }
}

/// Cookie tokens already verified, and what they carry: a browser sends the same cookie with every request of a
/// page and its assets, and checking the signature and decoding the JSON each time is work it does not need.
/// Only the signature check is remembered; the caller checks expiry and revocation on every request.
final class VerifiedGrants: Sendable {
    private let grants = Mutex<[String: PreviewGrant]>([:])
    /// A bound on memory: past it the table starts over (each cookie is then verified once more).
    static let capacity = 4096

    func grant(_ token: String, key: @autoclosure () -> SymmetricKey) -> PreviewGrant? {
        if let known = grants.withLock({ $0[token] }) { return known }
        guard let grant = PreviewGrant.verify(token, .cookie, key: key()) else { return nil }
        grants.withLock {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[token] = grant
        }
        return grant
    }
}
