import Crypto
import Foundation
import Hummingbird
import PaddockCore
import PaddockStore

/// Issues and checks API tokens. Only a SHA-256 of each token is stored; the token itself is shown once.
public struct TokenService: Sendable {
    let store: any Store

    public init(store: any Store) { self.store = store }

    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A new random token (`pdk_` + 256 bits, hex).
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        return "pdk_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    public func issue(name: String, expiresAt: Date? = nil) async throws -> String {
        let token = Self.generate()
        try await store.insertToken(
            StoredToken(
                id: UUID().uuidString.lowercased(), hash: Self.hash(token), name: name, createdAt: Date(),
                expiresAt: expiresAt))
        return token
    }

    /// Ensures the admin token file exists and is accepted: created on first start (mode 0600), and
    /// re-registered if the database was replaced but the file kept.
    public func ensureAdminToken(at path: String) async throws -> (token: String, created: Bool) {
        if let existing = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines),
            !existing.isEmpty
        {
            if try await store.validToken(hash: Self.hash(existing), now: Date()) == nil {
                try await store.insertToken(
                    StoredToken(
                        id: UUID().uuidString.lowercased(), hash: Self.hash(existing), name: "admin", createdAt: Date())
                )
            }
            return (existing, false)
        }
        let token = try await issue(name: "admin")
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PaddockError.unavailable("cannot write the admin token to \(path)") }
        defer { close(fd) }
        fchmod(fd, 0o600)
        let bytes = Array((token + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else {
            throw PaddockError.unavailable("cannot write the admin token to \(path)")
        }
        return (token, true)
    }

    public func authenticate(_ token: String) async throws -> StoredToken? {
        try await store.validToken(hash: Self.hash(token), now: Date())
    }
}

/// Requires `Authorization: Bearer <token>` on every route except the health check.
struct TokenAuthMiddleware: RouterMiddleware {
    typealias Context = PaddockRequestContext
    let tokens: TokenService
    static let openPaths: Set<String> = ["/v1/health", "/health"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if Self.openPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw PaddockError(
                .unauthenticated,
                "missing bearer token; set PADDOCK_TOKEN or send `Authorization: Bearer <token>` (the admin token is in <data-dir>/admin.token)"
            )
        }
        let token = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard let stored = try await tokens.authenticate(token) else {
            throw PaddockError(.unauthenticated, "the token is not valid (unknown, revoked or expired)")
        }
        var context = context
        context.tokenName = stored.name
        return try await next(request, context)
    }
}
