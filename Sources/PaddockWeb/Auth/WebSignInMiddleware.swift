import Foundation
import Hummingbird

/// Guards every page but the sign-in ones: a browser without a valid session is sent to `/signin` (and back
/// to where it was going afterwards), and every state-changing request must carry the person's CSRF token —
/// in the `_csrf` form field or the `X-CSRF-Token` header — so another site cannot post forms as them.
struct WebSignInMiddleware<Context: WebRequestContext>: RouterMiddleware {
    let authenticator: any WebAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var request = request
        guard let signedIn = try await authenticator.signedIn(&request) else {
            if request.method == .get || request.method == .head {
                return .redirect(to: "/signin?next=" + Self.escape(request.uri.description))
            }
            throw HTTPError(.unauthorized, message: "Your sign-in has ended; sign in again and retry.")
        }
        var context = context
        context.signedIn = signedIn
        // The authenticator checks it too; checked here as well so no authenticator can forget it.
        if ![.get, .head].contains(request.method) {
            let (checked, token) = try await CSRF.token(in: request, context: context)
            guard let token, CSRF.matches(token, signedIn.csrfToken) else {
                throw HTTPError(
                    .forbidden,
                    message: "This form is out of date or came from another site; reload the page and try again.")
            }
            request = checked
        }
        return try await next(request, context)
    }

    static func escape(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "/-_.~"))) ?? "/"
    }
}
