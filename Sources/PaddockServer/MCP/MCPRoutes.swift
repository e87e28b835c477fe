import Foundation
import Hummingbird
import PaddockCore

/// Mounts the MCP door: `/mcp` (POST, GET, DELETE) and the OAuth 2.1 protected-resource metadata (RFC 9728) that
/// tells an MCP client the endpoint wants a bearer token in the `Authorization` header — a Paddock token
/// (`paddock tokens create`); Paddock runs no authorization server of its own.
struct MCPRoutes {
    let door: MCPDoor
    /// Whether the API listener serves HTTPS, for the URLs the metadata gives.
    let tls: Bool

    func addRoutes(to router: Router<PaddockRequestContext>) {
        for method in [HTTPRequest.Method.post, .get, .delete] {
            router.on("/mcp", method: method) { request, context in try await door.handle(request, context: context) }
        }
        for path in ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] {
            router.get(RouterPath(path)) { request, _ in try metadata(request) }
        }
    }

    func base(_ request: Request) -> String {
        let host = request.head.authority ?? "127.0.0.1"
        return (tls ? "https://" : "http://") + host
    }

    /// RFC 9728 protected-resource metadata. No authorization server is named: the token is a Paddock token.
    struct Metadata: Encodable {
        var resource: String
        var resourceName = "Paddock"
        var bearerMethodsSupported = ["header"]
        var authorizationServers: [String] = []

        enum CodingKeys: String, CodingKey {
            case resource
            case resourceName = "resource_name"
            case bearerMethodsSupported = "bearer_methods_supported"
            case authorizationServers = "authorization_servers"
        }
    }

    func metadata(_ request: Request) throws -> Response {
        let data = try JSONEncoder().encode(Metadata(resource: base(request) + "/mcp"))
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Answers an unauthenticated `/mcp` request with the `WWW-Authenticate` challenge MCP clients follow to the
/// protected-resource metadata. Sits between the error middleware and the token middleware.
struct MCPChallengeMiddleware: RouterMiddleware {
    typealias Context = PaddockRequestContext
    let routes: MCPRoutes

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.uri.path == "/mcp" else { return try await next(request, context) }
        do { return try await next(request, context) } catch let e as PaddockError where e.code == .unauthenticated {
            var response = ErrorMiddleware<Context>.response(e)
            let metadata = routes.base(request) + "/.well-known/oauth-protected-resource"
            response.headers[.wwwAuthenticate] = "Bearer resource_metadata=\"\(metadata)\""
            return response
        }
    }
}
