import Foundation
import Hummingbird
import PaddockCore

/// Signing in with a password or single sign-on, accepting an invite, and signing out.
extension WebRoutes {
    struct SignInPage: Sendable {
        var next: String
        var user: String
        var error: String?
        var singleSignOn: String?
    }

    struct InvitePage: Sendable {
        var secret: String
        var offer: OfferView?
        var error: String?
    }

    struct OfferView: Sendable {
        var user: String?
        var role: String
        var teams: String
        var invitedBy: String
        var expires: String
        var choosesName: Bool
    }

    func addSignInRoutes(to router: Router<Context>) {
        let open = router.group().add(middleware: WebErrorMiddleware<Context>(pages: pages))
        open.get("/signin") { request, _ in try signInPage(request, error: nil, user: "") }
        open.post("/signin") { request, context in try await signIn(request, context) }
        open.get("/invite/:secret") { _, context in try await invitePage(context.parameters.get("secret") ?? "") }
        open.post("/invite/:secret") { request, context in try await redeem(request, context) }
        open.post("/signout") { request, context in
            var request = request
            // Another site must not sign people out either; a browser already signed out just goes to sign-in.
            if let person = try await authenticator.signedIn(&request) {
                let (checked, token) = try await CSRF.token(in: request, context: context)
                guard let token, CSRF.matches(token, person.csrfToken) else {
                    throw HTTPError(
                        .forbidden, message: "This form is out of date; reload the page and sign out again.")
                }
                request = checked
            }
            let cleared = try await authenticator.signOut(&request)
            var response = Response.redirect(to: "/signin", type: .found)
            response.setCookie(cleared)
            return response
        }
    }

    func signInPage(_ request: Request, error: String?, user: String, status: HTTPResponse.Status = .ok) throws
        -> Response
    {
        let next = Self.safeNext(request.uri.queryParameters.get("next").map { String($0) })
        let sso = authenticator.singleSignOnPath.map { "\($0)?return_to=\(WebSignInMiddleware<Context>.escape(next))" }
        return try pages.page(
            "signin", SignInPage(next: next, user: user, error: error, singleSignOn: sso), status: status)
    }

    func signIn(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await FormFields.read(request)
        let user = form["user"] ?? ""
        do {
            let cookie = try await authenticator.signIn(
                user: user, password: form["password"] ?? "", request, address: context.clientAddress)
            var response = Response.redirect(to: Self.safeNext(form["next"]), type: .found)
            response.setCookie(cookie)
            return response
        } catch let e as PaddockError where [.unauthenticated, .resourceExhausted, .invalidArgument].contains(e.code) {
            let status: HTTPResponse.Status = e.code == .resourceExhausted ? .tooManyRequests : .unauthorized
            var page = try signInPage(request, error: e.message, user: user, status: status)
            page.headers[.cacheControl] = "no-store"
            return page
        }
    }

    func invitePage(_ secret: String, error: String? = nil) async throws -> Response {
        do {
            let offer = try await authenticator.invite(secret)
            return try pages.page(
                "invite",
                InvitePage(
                    secret: secret,
                    offer: OfferView(
                        user: offer.user, role: offer.role.rawValue,
                        teams: offer.teams.isEmpty ? "no team yet" : offer.teams.joined(separator: ", "),
                        invitedBy: offer.invitedBy, expires: Self.day.string(from: offer.expiresAt),
                        choosesName: offer.user == nil),
                    error: error))
        } catch let e as PaddockError where e.code != .internal {
            return try pages.page("invite", InvitePage(secret: secret, offer: nil, error: e.message), status: .gone)
        }
    }

    func redeem(_ request: Request, _ context: Context) async throws -> Response {
        let secret = context.parameters.get("secret") ?? ""
        let form = try await FormFields.read(request)
        let password = form["password"] ?? ""
        guard password == form["confirm"] else {
            return try await invitePage(secret, error: "The two passwords differ; type the same one twice.")
        }
        do {
            let cookie = try await authenticator.redeem(
                secret, user: form["user"].flatMap { $0.isEmpty ? nil : $0 }, password: password, request,
                address: context.clientAddress)
            var response = Response.redirect(to: "/", type: .found)
            response.setCookie(cookie)
            return response
        } catch let e as PaddockError where [.invalidArgument, .alreadyExists].contains(e.code) {
            return try await invitePage(secret, error: e.message)
        }
    }

    /// Where to go after signing in: only a path on this server, never another site.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/" }
        return next
    }
}
