import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockServices

/// Browser sessions on the HTTP side: the session cookie, finding the signed-in person from it, and the
/// checks that keep another site from acting through a signed-in browser. Used by `TokenAuthMiddleware` (the
/// API accepts a session cookie where a token is absent), by the web UI's pages (as their `WebAuthenticator`)
/// and by `AuthController`.
///
/// The cookie is `HttpOnly` (page scripts never see it), `SameSite=Lax` (other sites' forms and scripts do not
/// send it; following a link to Paddock does), `Path=/`, and `Secure` when the server is reached over HTTPS.
/// `Lax` is not enough alone — sites under the same registrable domain (previews on `*.domain`) count as
/// same-site — so every state-changing request a cookie authenticates must also carry the session's CSRF
/// token, in the `X-CSRF-Token` header or the form field `_csrf`, and must not come from another origin.
/// Requests with a bearer token need none of this: browsers never add that header on their own.
public struct BrowserAuthenticator: Sendable {
    public static let cookieName = "paddock_session"
    /// Holds an OIDC flow's `state` between the redirect to the provider and its way back.
    public static let flowCookieName = "paddock_oidc"
    public static let csrfHeader = fieldName("X-CSRF-Token")
    public static let csrfField = "_csrf"
    static let fetchSite = fieldName("Sec-Fetch-Site")

    private static func fieldName(_ literal: String) -> HTTPFields.Element.Name {
        guard let name = HTTPFields.Element.Name(literal) else {
            preconditionFailure("'\(literal)' is not a header name")
        }
        return name
    }

    public let signIn: SignInService
    /// Whether browsers reach the server over HTTPS (served directly with TLS, or a public URL that is https):
    /// cookies are then `Secure`.
    public let secure: Bool
    /// The origin browsers use (`https://paddock.example.com`), from the public URL; nil: the request's Host.
    public let publicOrigin: String?

    public init(signIn: SignInService, secure: Bool) {
        self.signIn = signIn
        self.secure = secure
        publicOrigin = signIn.configuration.publicURL.flatMap(Self.origin)
    }

    /// The `Set-Cookie` value of a new session; it lasts until the session's absolute end.
    public func sessionCookie(_ issued: IssuedBrowserSession) -> Cookie {
        let seconds = Int(issued.record.expiresAt.timeIntervalSince(issued.record.createdAt))
        return Cookie(
            name: Self.cookieName, value: issued.cookie, maxAge: seconds, path: "/", secure: secure, httpOnly: true,
            sameSite: .lax)
    }

    /// Tells the browser to forget its session cookie.
    public func clearedSessionCookie() -> Cookie {
        Cookie(name: Self.cookieName, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    /// The OIDC flow cookie: sent back only to the callback, for the ten minutes a flow may take. `Lax`, so the
    /// provider's top-level redirect back carries it.
    func flowCookie(_ state: String?) -> Cookie {
        Cookie(
            name: Self.flowCookieName, value: state ?? "", maxAge: state == nil ? 0 : 600, path: "/auth/oidc",
            secure: secure, httpOnly: true, sameSite: .lax)
    }

    /// The session cookie's value, if the request has one.
    public static func cookie(of request: Request) -> String? {
        guard let value = request.cookies[cookieName]?.value, !value.isEmpty else { return nil }
        return value
    }

    /// The signed-in person behind the request's cookie, or nil when it has none or its session ended. For a
    /// state-changing method, refuses (`permissionDenied`) a request from another origin or without the
    /// session's CSRF token; a form's `_csrf` field is read from the body, which is put back for the handler.
    public func authenticate(_ request: inout Request) async throws -> BrowserSignIn? {
        guard let cookie = Self.cookie(of: request) else { return nil }
        guard let signedIn = try await signIn.sessions.resolve(cookie: cookie) else { return nil }
        try checkSite(request)
        if !Self.isSafe(request.method) {
            guard signedIn.acceptsCSRF(try await Self.csrfToken(&request)) else {
                throw PaddockError.permissionDenied(
                    "this request needs the session's CSRF token in the X-CSRF-Token header or the _csrf form field "
                        + "(GET /auth/me gives it); reload the page and try again")
            }
        }
        return signedIn
    }

    /// Refuses a cookie request from another site: a state-changing one whose `Origin` is another's, and a
    /// WebSocket handshake without this server's `Origin` — a handshake is a GET, so no CSRF token comes with
    /// it, and browsers send cookies on cross-site handshakes: only the Origin tells a page of this server from
    /// another site's.
    func checkSite(_ request: Request) throws {
        if Self.isWebSocketUpgrade(request) {
            try checkOrigin(request, required: true)
        } else if !Self.isSafe(request.method) {
            try checkOrigin(request, required: false)
        }
    }

    /// Why a request that needs a person has none: no cookie, or one whose session ended.
    static func signInNeeded(_ request: Request) -> PaddockError {
        cookie(of: request) == nil
            ? PaddockError(.unauthenticated, "sign in first (POST /auth/password, or single sign-on)")
            : PaddockError(
                .unauthenticated, "your browser session has ended (signed out, idle too long or expired); sign in again"
            )
    }

    /// GET, HEAD and OPTIONS change nothing on this server, so they need no CSRF token.
    static func isSafe(_ method: HTTPRequest.Method) -> Bool {
        method == .get || method == .head || method == .options
    }

    static func isWebSocketUpgrade(_ request: Request) -> Bool {
        request.headers[.upgrade]?.lowercased() == "websocket"
    }

    /// Refuses a request a browser says came from another site: its `Origin` (sent with every POST and
    /// WebSocket handshake by current browsers) must name this server, and `Sec-Fetch-Site` must not be
    /// `cross-site`. A request without `Origin` comes from a non-browser client, unless `required`.
    public func checkOrigin(_ request: Request, required: Bool) throws {
        if request.headers[Self.fetchSite] == "cross-site" {
            throw Self.crossOrigin
        }
        guard let origin = request.headers[.origin] else {
            if required { throw Self.crossOrigin }
            return
        }
        if let publicOrigin, origin == publicOrigin { return }
        // The Host a browser sends is the one it navigated to, so another site cannot choose it.
        guard let host = Self.origin(origin).flatMap(Self.authority), let authority = request.head.authority,
            host.lowercased() == authority.lowercased()
        else { throw Self.crossOrigin }
    }

    static let crossOrigin = PaddockError.permissionDenied(
        "this request comes from another site (its Origin is not this server's); open Paddock itself and retry")

    /// `scheme://host[:port]` of a URL, or nil.
    static func origin(_ url: String) -> String? {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, let host = parsed.host else { return nil }
        let hostText = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme.lowercased())://\(hostText.lowercased())" + (parsed.port.map { ":\($0)" } ?? "")
    }

    /// `host[:port]` of an origin.
    static func authority(_ origin: String) -> String? {
        guard let range = origin.range(of: "://") else { return nil }
        return String(origin[range.upperBound...])
    }

    /// The largest form body read for its `_csrf` field.
    static let maxFormBytes = 1 << 20

    /// The CSRF token of a request: the header, else a urlencoded form's `_csrf` field.
    static func csrfToken(_ request: inout Request) async throws -> String? {
        if let header = request.headers[csrfHeader] { return header }
        guard let type = request.headers[.contentType]?.lowercased(),
            type.hasPrefix("application/x-www-form-urlencoded")
        else { return nil }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxFormBytes)
        } catch is NIOTooManyBytesError {
            throw PaddockError.bodyTooLarge(limit: maxFormBytes)
        }
        // The handler reads the form again.
        request.body = RequestBody(buffer: buffer)
        return FormFields(String(buffer: buffer))[csrfField]
    }
}

/// The fields of an `application/x-www-form-urlencoded` body, decoded (`+` is a space).
struct FormFields {
    private var values: [String: String] = [:]

    init(_ body: String) {
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { continue }
            // The first occurrence wins: a field cannot be overridden by appending it again.
            if values[name] == nil { values[name] = parts.count > 1 ? Self.decode(parts[1]) ?? "" : "" }
        }
    }

    subscript(_ name: String) -> String? { values[name] }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}

extension ServerConfiguration {
    /// Whether browsers reach the server over HTTPS: served with TLS here, or behind a proxy at an https public
    /// URL. Session cookies are `Secure` then.
    var isHTTPS: Bool {
        tls != nil || signIn?.configuration.publicURL?.lowercased().hasPrefix("https://") == true
    }

    /// The browser sessions of `signIn` as the HTTP layer sees them: how the web pages sign their visitors in.
    /// nil without sign-in.
    public var browserAuthenticator: BrowserAuthenticator? {
        signIn.map { BrowserAuthenticator(signIn: $0, secure: isHTTPS) }
    }

    /// Where browsers reach the server: its public URL, else this host and `port` (a wildcard listen address
    /// reads as loopback).
    public func baseURL(port: Int) -> String {
        if let url = signIn?.configuration.publicURL { return url }
        let shown = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        return "\(tls == nil ? "http" : "https")://\(shown.contains(":") ? "[\(shown)]" : shown):\(port)"
    }
}
