import Crypto
import Foundation
import Hummingbird
import PaddockCore
import PaddockServices
import PaddockStore

/// Authenticates and authorizes every request, in one place: resolves the bearer token to a `Principal`,
/// asks the `RouteAuthorizer` whether the route allows it, and runs the handler with the caller as the audit
/// actor. The health check is the only open route.
struct TokenAuthMiddleware: RouterMiddleware {
    typealias Context = PaddockRequestContext
    let tokens: TokenService
    let authorizer: RouteAuthorizer
    /// Browser sessions, for requests from the web UI (`TokenAuthMiddleware+Browser`); nil without sign-in.
    var browser: BrowserAuthenticator? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let requirement = RouteAuthorizer.requirement(method: request.method, path: request.uri.path)
        if requirement == .open { return try await next(request, context) }
        if let browser, request.headers[.authorization] == nil, BrowserAuthenticator.cookie(of: request) != nil {
            return try await handleBrowser(request, browser, requirement, context: context, next: next)
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw PaddockError(
                .unauthenticated,
                "missing bearer token; set PADDOCK_TOKEN or send `Authorization: Bearer <token>` (the admin token is in <data-dir>/admin.token)"
            )
        }
        let token = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard let principal = try await tokens.authenticate(token) else {
            throw PaddockError(.unauthenticated, "the token is not valid (unknown, revoked or expired)")
        }
        try await authorizer.authorize(principal, requirement)
        var authenticated = context
        authenticated.tokenName = principal.user
        authenticated.principal = principal
        return try await next(request, authenticated)
    }
}
