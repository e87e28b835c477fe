import Crypto
import Foundation
import Synchronization

/// `X-Paddock-Viewer`: who is looking at a preview, signed so that the app can trust it. Ed25519, not an HMAC:
/// the app checks it with the public key every command in a session gets (`PADDOCK_PREVIEW_VIEWER_KEY`), and
/// nothing in a sandbox — the agent included — can sign a header of its own. The signature covers the session,
/// the port and the fields, so a header seen by one app is worth nothing to another; `at` lets an app refuse
/// old ones.
final class ViewerSignature: Sendable {
    /// Behind a lock because the key type is not `Sendable` here.
    private let signer: Mutex<Curve25519.Signing.PrivateKey>
    /// The public key, base64url (32 bytes raw), as apps receive it.
    let publicKey: String
    /// The last header per viewer of a port, reused within its second: a page's assets arrive together, and a
    /// signature costs more than the rest of the request's handling here.
    private let recent = Mutex<[String: (at: Int64, header: String)]>([:])
    static let capacity = 4096

    /// Derived from the preview key, so the public key apps hold stays valid across restarts.
    init(previewKey: SymmetricKey) throws {
        let seed = HMAC<SHA256>.authenticationCode(
            for: Data("paddock preview viewer signing key".utf8), using: previewKey)
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: Data(seed))
        publicKey = Base64URL.encode(Array(key.publicKey.rawRepresentation))
        signer = Mutex(key)
    }

    func header(session: String, port: UInt16, viewer: String, share: String?, at: Int64) throws -> String {
        let fields = "user=\(viewer); share=\(share ?? "-"); at=\(at)"
        let key = "\(session) \(port) \(viewer) \(share ?? "-")"
        if let cached = recent.withLock({ $0[key] }), cached.at == at { return cached.header }
        let signed = Data(Self.signedText(session: session, port: port, fields).utf8)
        let signature = try signer.withLock { try $0.signature(for: signed) }
        let header = fields + "; sig=" + Base64URL.encode(Array(signature))
        recent.withLock {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[key] = (at, header)
        }
        return header
    }

    /// What is signed: `<session> <port> <fields>` (the header without `; sig=…`).
    static func signedText(session: String, port: UInt16, _ fields: String) -> String { "\(session) \(port) \(fields)" }
}
