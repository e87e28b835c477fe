import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices

/// Previews: `/v1/sessions/{id}/previews` (private URLs, shares), `/v1/previews/shares` (every share the caller
/// may see), and `/previews/authorize`, where a signed-in browser is sent from a preview host to be let in.
struct PreviewController {
    let previews: PreviewService
    let browser: BrowserAuthenticator?

    func addRoutes(sessions group: RouterGroup<PaddockRequestContext>, router: Router<PaddockRequestContext>) {
        group.get(":id/previews", use: list)
        group.get(":id/previews/shares", use: sessionShares)
        group.post(":id/previews/shares", use: share)
        group.delete(":id/previews/shares/:share", use: revoke)
        router.get("/v1/previews/shares", use: allShares)
        router.delete("/v1/previews/shares/:share", use: revoke)
        router.get("/previews/authorize", use: authorize)
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> PreviewListBody {
        let id = try context.sessionID()
        let caller = try context.caller()
        let port = try request.uri.queryParameters.get("port").map(Self.port)
        let links = try await previews.links(id, port: port, by: caller)
        let shares = try await previews.shares(session: id, by: caller)
        return PreviewListBody(
            previews: links.map { PreviewLinkBody(port: $0.port, url: $0.url, listening: $0.listening) },
            shares: shares.map { PreviewShareBody($0) })
    }

    @Sendable func sessionShares(_ request: Request, context: PaddockRequestContext) async throws
        -> PreviewShareListBody
    {
        let shares = try await previews.shares(session: try context.sessionID(), by: try context.caller())
        return PreviewShareListBody(shares: shares.map { PreviewShareBody($0) })
    }

    @Sendable func allShares(_ request: Request, context: PaddockRequestContext) async throws -> PreviewShareListBody {
        let shares = try await previews.shares(session: nil, by: try context.caller())
        return PreviewShareListBody(shares: shares.map { PreviewShareBody($0) })
    }

    @Sendable func share(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        PreviewShareBody
    > {
        let body = try await request.decode(as: CreatePreviewShareBody.self, context: context)
        let ttl = try body.ttl.map { try DurationText.parse($0) }.map { TimeInterval($0.components.seconds) }
        let audience = try PreviewAudience(parsing: body.audience ?? "team")
        let issued = try await previews.share(
            try context.sessionID(), port: body.port, ttl: ttl, audience: audience, by: try context.caller())
        return EditedResponse(status: .created, response: PreviewShareBody(issued.share, url: issued.url))
    }

    @Sendable func revoke(_ request: Request, context: PaddockRequestContext) async throws -> PreviewShareBody {
        let session = context.parameters.get("id") == nil ? nil : try context.sessionID()
        let share = try await previews.revoke(
            try context.requiredParameter("share", "share id"), session: session, by: try context.caller())
        return PreviewShareBody(share)
    }

    static func port(_ text: String) throws -> UInt16 {
        guard let port = UInt16(text), port > 0 else {
            throw PaddockError.invalidArgument("port '\(text)' is not a TCP port (1-65535)")
        }
        return port
    }

    /// A preview host sends a browser without its cookie here. Signed in, the person is checked (a member's
    /// `read`, or the share link's audience) and sent back with a one-use exchange token; not signed in, they
    /// sign in first and come back.
    @Sendable func authorize(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        guard let rawSession = query.get("session"), let session = SessionID(rawValue: rawSession),
            let rawPort = query.get("port")
        else { throw PaddockError.invalidArgument("this preview sign-in link is incomplete; open the preview again") }
        let port = try Self.port(rawPort)
        var next = query.get("next") ?? "/"
        // Only a path on the preview host: never a way to send the browser elsewhere.
        if !next.hasPrefix("/") || next.hasPrefix("//") || next.contains("\\") { next = "/" }
        var request = request
        guard let browser, let signedIn = try await browser.authenticate(&request) else {
            return .redirect(to: "/signin?next=" + WebSignInPath.escape(request.uri.description))
        }
        let token = try await previews.exchangeToken(
            for: signedIn.principal, session: session, port: port, shareSecret: query.get("share"))
        return .redirect(to: previews.exchangeURL(session: session, port: port, token: token, next: next))
    }
}

/// Escapes a path for the `next` parameter of `/signin`, as the web UI's sign-in guard does.
enum WebSignInPath {
    static func escape(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "/-_.~"))) ?? "/"
    }
}
