import Hummingbird
import PaddockWeb

extension BrowserAuthenticator: WebAuthenticator {
    /// The web pages' sign-in: the person behind the session cookie and the CSRF token their forms carry
    /// (`WebSignInMiddleware` checks it on state-changing requests). A request from another site is refused
    /// here as on the API (`checkSite`).
    public func signedIn(_ request: Request) async throws -> SignedIn? {
        guard let cookie = Self.cookie(of: request), let found = try await signIn.sessions.resolve(cookie: cookie)
        else { return nil }
        try checkSite(request)
        return SignedIn(principal: found.principal, csrfToken: found.csrfToken)
    }
}
