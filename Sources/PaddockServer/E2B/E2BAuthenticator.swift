import Foundation
import Hummingbird
import PaddockCore
import PaddockServices
import PaddockStore

/// Who may use the E2B-compatible API. Every request goes through `authenticate`; what the caller may do
/// with a sandbox is decided by its team, as on the Paddock API (`RouteAuthorizer`): a sandbox belongs to the
/// team of the token that created it, and another team's sandbox answers as if it did not exist.
struct E2BAuthenticator: Sendable {
    let tokens: TokenService

    /// The Paddock token a request carries: `X-API-KEY` on the control plane, `X-Access-Token` (the
    /// `envdAccessToken` handed out with each sandbox) on in-sandbox traffic.
    func authenticate(_ request: Request) async throws -> Principal {
        guard let key = request.header("x-api-key") ?? request.header("x-access-token"), !key.isEmpty else {
            throw PaddockError(
                .unauthenticated,
                "missing API key; set E2B_API_KEY to a Paddock token (the admin token is in <data-dir>/admin.token)")
        }
        guard let principal = try await tokens.authenticate(key.trimmingCharacters(in: .whitespaces)) else {
            throw PaddockError(
                .unauthenticated, "the API key is not a valid Paddock token (unknown, revoked or expired)")
        }
        return principal
    }
}

/// Authenticates every route but the health checks.
struct E2BAuthMiddleware: RouterMiddleware {
    typealias Context = E2BRequestContext
    let authenticator: E2BAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if Self.isOpen(request) { return try await next(request, context) }
        var context = context
        let principal = try await authenticator.authenticate(request)
        context.tokenName = principal.user
        context.principal = principal
        return try await next(request, context)
    }

    /// The server's health, and the code interpreter's context management: E2B's code-interpreter SDK
    /// sends no credentials on `/contexts` (only on `/execute`, which runs code and stays guarded), so
    /// those are reachable with the sandbox id alone — an unguessable 80-bit name.
    static func isOpen(_ request: Request) -> Bool {
        guard request.header("e2b-sandbox-id") != nil else { return request.uri.path == "/health" }
        guard request.header("e2b-sandbox-port") == String(E2B.codeInterpreterPort) else { return false }
        let path = request.uri.path
        return path == "/health" || path == "/contexts" || path.hasPrefix("/contexts/")
    }
}
