import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices
import PaddockStore

/// Who may use the E2B-compatible API. Every request goes through `authenticate`; what the caller may do
/// with a sandbox is decided by its team, as on the Paddock API (`RouteAuthorizer`): a sandbox belongs to the
/// team of the token that created it, and another team's sandbox answers as if it did not exist.
struct E2BAuthenticator: Sendable {
    let tokens: TokenService

    /// The Paddock token a request carries: `X-API-KEY` on the control plane, `X-Access-Token` (the
    /// `envdAccessToken` handed out with each sandbox) on in-sandbox traffic, and the code interpreter's
    /// `E2B-Traffic-Access-Token`. A token may be spelled `e2b_<hex>` (see `E2BKeySpelling`).
    func authenticate(_ request: Request) async throws -> Principal {
        guard let key = Self.key(request) else {
            throw PaddockError(
                .unauthenticated,
                "missing API key; set E2B_API_KEY to a Paddock token in E2B's spelling (`paddock tokens create --e2b`)")
        }
        guard let principal = try await tokens.authenticate(E2BKeySpelling.paddock(E2BAccessToken.key(of: key))) else {
            throw PaddockError(
                .unauthenticated, "the API key is not a valid Paddock token (unknown, revoked or expired)")
        }
        return principal
    }

    static func key(_ request: Request) -> String? {
        let key =
            (request.header("x-api-key") ?? request.header("x-access-token")
            ?? request.header("e2b-traffic-access-token"))?.trimmingCharacters(in: .whitespaces)
        guard let key, !key.isEmpty else { return nil }
        return key
    }
}

/// Authenticates every route but the health checks; a signed file URL authenticates with the token it was
/// signed with, and is routed to the sandbox the signature names.
struct E2BAuthMiddleware: RouterMiddleware {
    typealias Context = E2BRequestContext
    let authenticator: E2BAuthenticator
    let accessTokens: E2BAccessTokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var request = request
        if E2BAuthenticator.key(request) == nil {
            if Self.isOpen(request) { return try await next(request, context) }
            if let signed = try await E2BSignedFiles.verify(request, tokens: accessTokens) {
                // What the SDK would have sent with the request had it not been a bare URL.
                let headers = [
                    "e2b-sandbox-id": signed.sandbox, "e2b-sandbox-port": String(E2B.daemonPort),
                    "x-access-token": signed.token,
                ]
                var head = request.head
                for (name, value) in headers {
                    if let field = HTTPFields.Element.Name(name) { head.headerFields[field] = value }
                }
                request = Request(head: head, body: request.body)
            }
        }
        var context = context
        let principal = try await authenticator.authenticate(request)
        context.tokenName = principal.user
        context.principal = principal
        return try await next(request, context)
    }

    /// The server's health, and the code interpreter's context management. E2B's code-interpreter SDK sends
    /// on `/contexts` only the sandbox's `trafficAccessToken` (which create and connect hand out for secure
    /// sandboxes), and nothing for a sandbox created with `secure: false`: without a credential, these routes
    /// reach only such sandboxes (`E2BSandboxTrafficMiddleware.liveSession` checks).
    /// A template build's upload link is open too: its secret is the credential, as in a presigned URL (the SDK
    /// uploads there with no key), and `E2BTemplateBuilds` takes each link once.
    static func isOpen(_ request: Request) -> Bool {
        guard request.header("e2b-sandbox-id") != nil else {
            let path = request.uri.path
            return path == "/health" || request.method == .put && path.hasPrefix(E2BTemplateBuilds.uploadPath + "/")
        }
        guard request.header("e2b-sandbox-port") == String(E2B.codeInterpreterPort) else { return false }
        let path = request.uri.path
        return path == "/health" || path == "/contexts" || path.hasPrefix("/contexts/")
    }
}
