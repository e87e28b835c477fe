import Crypto
import Foundation
import Hummingbird
import Logging
import PaddockCore

/// A sandbox's in-sandbox credential: the API key it was created or connected with, and the sandbox's id
/// (`<key>.<id>`). It authenticates as the key; the id makes it one per sandbox, so a URL signed with it names
/// its sandbox even when one key made many.
enum E2BAccessToken {
    static func make(key: String, sandbox: String) -> String { Self.key(of: key) + "." + sandbox }

    /// The API key a token carries (a bare key is its own).
    static func key(of token: String) -> String {
        token.split(separator: ".", maxSplits: 1).first.map(String.init) ?? token
    }
}

/// The in-sandbox credential (`envdAccessToken`) each sandbox was last handed out with, by sandbox, in this
/// process's memory only (never stored, never logged): E2B's signed file URLs are signed with it, and with one
/// fixed sandbox URL the signature is the only thing in such a URL that names the sandbox. After a restart a
/// sandbox's URLs verify again once a client creates, connects to or forks it.
///
/// A sandbox ended by its TTL, by `paddock session destroy` or by the web UI never passes through the E2B door,
/// so the map also drops, at most once per `pruneInterval`, every sandbox `liveSandboxes` no longer names:
/// otherwise it would grow with every sandbox ever made, and every signed URL would be checked against all of them.
actor E2BAccessTokens {
    private var tokens: [String: String] = [:]
    private let liveSandboxes: @Sendable () async throws -> Set<String>
    private let pruneInterval: Duration
    private let clock = ContinuousClock()
    private var lastPrune: ContinuousClock.Instant?
    private let logger = Logger(label: "paddock.e2b")

    /// `liveSandboxes` names the sandboxes that have not ended (running or paused).
    init(
        pruneInterval: Duration = .seconds(30),
        liveSandboxes: @escaping @Sendable () async throws -> Set<String> = { [] }
    ) {
        self.pruneInterval = pruneInterval
        self.liveSandboxes = liveSandboxes
    }

    func record(sandbox: String, token: String?) async {
        await pruneIfDue()
        guard let token else { return }
        tokens[sandbox] = token
    }

    func forget(sandbox: String) { tokens[sandbox] = nil }

    /// How many sandboxes have a credential on record.
    var count: Int { tokens.count }

    /// The sandbox and token that produce `signature` for this file operation, if any.
    func signer(of signature: String, path: String, operation: String, user: String, expiration: String?) async
        -> (sandbox: String, token: String)?
    {
        await pruneIfDue()
        return tokens.first { _, token in
            E2BSignedFiles.signature(path: path, operation: operation, user: user, token: token, expiration: expiration)
                == signature
        }.map { (sandbox: $0.key, token: $0.value) }
    }

    /// Drops the credentials of sandboxes that ended without the E2B door seeing it.
    func pruneIfDue() async {
        let now = clock.now
        if let lastPrune, lastPrune.duration(to: now) < pruneInterval { return }
        guard !tokens.isEmpty else { return }
        lastPrune = now
        let before = Set(tokens.keys)
        let live: Set<String>
        do { live = try await liveSandboxes() } catch {
            // Keeping the entries is safe: a signed URL of an ended sandbox still finds no live sandbox to act on.
            logger.warning(
                "cannot list live sandboxes to forget the ended ones' credentials; trying again later",
                metadata: ["error": "\(error)"])
            return
        }
        // Only entries older than the list: one recorded while it was read belongs to a sandbox just made.
        for sandbox in before where !live.contains(sandbox) { tokens[sandbox] = nil }
    }
}

/// `GET|POST /files?path=&username=&signature=v1_…[&signature_expiration=]`, as `Sandbox.download_url` and
/// `upload_url` build them: no headers, so the signature stands for both the credential and the sandbox.
enum E2BSignedFiles {
    /// `v1_` + base64 (no padding) of SHA-256 over `path:operation:user:token[:expiration]`, E2B's scheme.
    static func signature(path: String, operation: String, user: String, token: String, expiration: String?)
        -> String
    {
        let raw = [path, operation, user, token] + (expiration.map { [$0] } ?? [])
        let digest = SHA256.hash(data: Data(raw.joined(separator: ":").utf8))
        var encoded = Data(digest).base64EncodedString()
        while encoded.hasSuffix("=") { encoded.removeLast() }
        return "v1_" + encoded
    }

    /// For a signed file request: the token it was signed with and the sandbox it names, or nil when the request
    /// is not a signed file request. A signature that matches no sandbox, or has expired, is refused.
    static func verify(_ request: Request, tokens: E2BAccessTokens) async throws -> (sandbox: String, token: String)? {
        let query = request.uri.queryParameters
        guard request.uri.path == "/files", let signature = query.get("signature") else { return nil }
        let operation: String
        switch request.method {
        case .get: operation = "read"
        case .post: operation = "write"
        default: return nil
        }
        let expiration = query.get("signature_expiration").flatMap { $0.isEmpty ? nil : $0 }
        if let expiration {
            guard let seconds = Double(expiration) else {
                throw PaddockError(.unauthenticated, "signature_expiration '\(expiration)' is not Unix seconds")
            }
            guard seconds >= Date().timeIntervalSince1970 else {
                // E2B's words, which clients match on.
                throw PaddockError(.unauthenticated, "signature is already expired")
            }
        }
        let signer = await tokens.signer(
            of: signature, path: query.get("path") ?? "", operation: operation, user: query.get("username") ?? "",
            expiration: expiration)
        guard let signer else {
            throw PaddockError(
                .unauthenticated,
                "the file URL's signature matches no running sandbox; ask the SDK for a new URL (after a server "
                    + "restart, Sandbox.connect() first)")
        }
        return signer
    }
}
