import Hummingbird
import PaddockCore
import PaddockServices

extension TokenAuthMiddleware {
    /// A request with the web UI's session cookie and no bearer token: the browser session stands in for the
    /// token — the person's role ceiling as scopes, their teams, `web:<session>` as the audit token — after the
    /// CSRF and origin checks every state-changing cookie request must pass. A bearer token, when present, wins.
    func handleBrowser(
        _ request: Request, _ browser: BrowserAuthenticator, _ requirement: RouteAuthorizer.Requirement,
        context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var request = request
        guard let signedIn = try await browser.authenticate(&request) else {
            throw BrowserAuthenticator.signInNeeded(request)
        }
        try await authorizer.authorize(signedIn.principal, requirement)
        var authenticated = context
        authenticated.tokenName = signedIn.principal.user
        authenticated.principal = signedIn.principal
        return try await next(request, authenticated)
    }
}
