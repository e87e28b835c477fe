import Foundation
import Hummingbird
import NIOCore
import PaddockAPI
import PaddockCore
import PaddockServices

/// Signing in and out of the web UI, as JSON endpoints under `/auth` (the pages are built on the same
/// `SignInService` calls):
///
/// - `POST /auth/password` — `{"user", "password"}` as JSON or a form; sets the session cookie.
/// - `POST /auth/logout` — ends the cookie's session (CSRF token required) and clears the cookie.
/// - `GET /auth/me` — who the cookie's session is, with its CSRF token.
/// - `GET /auth/oidc/start?return_to=/path` — 302 to the identity provider.
/// - `GET /auth/oidc/callback` — the provider's redirect back; 302 to `return_to` with the session cookie.
/// - `GET /auth/invite/{secret}` — what an invite offers; `POST` redeems it with `{"password", "user"?}`.
///
/// `RouteAuthorizer` leaves `/auth` open: these routes find the session themselves. Sign-ins that start a
/// session (password, invite) refuse another origin, so no other site can sign a browser in as someone else.
struct AuthController {
    let browser: BrowserAuthenticator
    var signIn: SignInService { browser.signIn }

    func addRoutes(to router: Router<PaddockRequestContext>) {
        router.post("/auth/password", use: password)
        router.post("/auth/logout", use: logout)
        router.get("/auth/me", use: me)
        router.get("/auth/oidc/start", use: oidcStart)
        router.get("/auth/oidc/callback", use: oidcCallback)
        router.get("/auth/invite/:secret", use: invite)
        router.post("/auth/invite/:secret", use: redeem)
    }

    @Sendable func password(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        try browser.checkOrigin(request, required: false)
        let body = try await Self.decode(PasswordSignInBody.self, fields: "user and password", request, context)
        let address = context.remoteAddress?.ipAddress
        do {
            let issued = try await signIn.signIn(
                user: body.user, password: body.password, address: address,
                userAgent: request.headers[.userAgent])
            return try signedIn(issued, request, context)
        } catch let e as PaddockError where e.code == .resourceExhausted {
            var response = ErrorMiddleware<PaddockRequestContext>.response(e)
            if let wait = signIn.retryAfter(user: body.user, address: address) {
                response.headers[.retryAfter] = String(wait.components.seconds)
            }
            return response
        }
    }

    @Sendable func logout(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        var request = request
        let signedIn = try await browser.authenticate(&request)
        if let signedIn { try await signIn.sessions.end(signedIn) }
        var response = try APIResponseEncoder().encode(
            SignedOutBody(signedOut: signedIn != nil), from: request, context: context)
        response.setCookie(browser.clearedSessionCookie())
        return response
    }

    @Sendable func me(_ request: Request, context: PaddockRequestContext) async throws -> SignedInBody {
        var request = request
        guard let signedIn = try await browser.authenticate(&request) else {
            throw BrowserAuthenticator.signInNeeded(request)
        }
        let p = signedIn.principal
        var teams: [String: [String]] = [:]
        for team in p.teams.keys {
            teams[team] = Permission.allCases.filter(p.permissions(onTeam: team).contains).map(\.rawValue)
        }
        return SignedInBody(
            user: p.user, role: p.role.rawValue, teams: teams, session: p.tokenID, csrfToken: signedIn.csrfToken,
            expiresAt: signedIn.record.expiresAt)
    }

    // MARK: Single sign-on

    private func oidc() throws -> OIDCSignIn {
        guard let oidc = signIn.oidc else {
            throw PaddockError.notFound(
                "single sign-on is not configured; start the server with --oidc-issuer, --oidc-client-id and "
                    + "--public-url")
        }
        return oidc
    }

    @Sendable func oidcStart(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        let start = try await oidc().start(returnTo: request.uri.queryParameters.get("return_to"))
        var response = Response(status: .found, headers: [.location: start.url])
        response.setCookie(browser.flowCookie(start.state))
        return response
    }

    @Sendable func oidcCallback(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        var response: Response
        do {
            let finished = try await oidc().finish(
                code: query.get("code"), state: query.get("state"), error: query.get("error"),
                browserState: request.cookies[BrowserAuthenticator.flowCookieName]?.value,
                address: context.remoteAddress?.ipAddress, userAgent: request.headers[.userAgent])
            response = Response(status: .found, headers: [.location: finished.returnTo])
            response.setCookie(browser.sessionCookie(finished.session))
        } catch {
            response = ErrorMiddleware<PaddockRequestContext>.response(
                ErrorMiddleware<PaddockRequestContext>.classify(error))
        }
        // The flow is over either way.
        response.setCookie(browser.flowCookie(nil))
        return response
    }

    // MARK: Invites

    @Sendable func invite(_ request: Request, context: PaddockRequestContext) async throws -> InviteBody {
        InviteBody(try await signIn.invites.lookup(secret: try context.parameter("secret")))
    }

    @Sendable func redeem(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        try browser.checkOrigin(request, required: false)
        let body = try await Self.decode(RedeemInviteBody.self, fields: "password (and user)", request, context)
        let issued = try await signIn.invites.redeem(
            secret: try context.parameter("secret"), user: body.user, password: body.password,
            address: context.remoteAddress?.ipAddress, userAgent: request.headers[.userAgent])
        return try signedIn(issued, request, context)
    }

    // MARK: Helpers

    /// The answer to a sign-in: who, the CSRF token, and the session cookie.
    private func signedIn(_ issued: IssuedBrowserSession, _ request: Request, _ context: PaddockRequestContext)
        throws -> Response
    {
        let body = SignedInBody(
            user: issued.record.user, role: issued.role.rawValue, teams: [:],
            session: BrowserSessions.tokenPrefix + issued.record.id, csrfToken: issued.csrfToken,
            expiresAt: issued.record.expiresAt)
        var response = try APIResponseEncoder().encode(body, from: request, context: context)
        response.setCookie(browser.sessionCookie(issued))
        return response
    }

    /// The largest sign-in form read.
    static let maxFormBytes = 64 << 10

    /// A body sent as JSON, or as an HTML form.
    static func decode<T: Decodable>(
        _ type: T.Type, fields: String, _ request: Request, _ context: PaddockRequestContext
    ) async throws -> T {
        guard let contentType = request.headers[.contentType]?.lowercased(),
            contentType.hasPrefix("application/x-www-form-urlencoded")
        else { return try await request.decode(as: T.self, context: context) }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxFormBytes)
        } catch is NIOTooManyBytesError {
            throw PaddockError.bodyTooLarge(limit: maxFormBytes)
        }
        do {
            return try URLEncodedFormDecoder().decode(T.self, from: String(buffer: buffer))
        } catch {
            throw PaddockError.invalidArgument("the form is not valid; send the fields \(fields)")
        }
    }
}

/// `POST /auth/logout`: whether a session was ended (false: there was none).
public struct SignedOutBody: Codable, Sendable, ResponseEncodable {
    public var signedOut: Bool
}
