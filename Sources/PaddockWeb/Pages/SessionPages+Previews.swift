import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// The session page's previews: the ports the sandbox listens on (private URLs), the share links with Revoke,
/// and a form to make one. Everything goes through `PreviewService`, which authorizes and audits.
extension WebRoutes {
    struct PreviewPort: Sendable {
        var port: String
        var url: String
    }

    struct PreviewShareRow: Sendable {
        var id: String
        var port: String
        var audience: String
        var expires: String
        var live: Bool
        var state: String
    }

    /// Stored properties only: templates read values by reflection.
    struct PreviewSection: Sendable {
        var ports: [PreviewPort]
        var shares: [PreviewShareRow]
    }

    struct PreviewSharedPage: Sendable {
        var chrome: Chrome
        var sessionID: String
        var url: String
        var audience: String
        var expires: String
    }

    func addPreviewRoutes(to signedIn: RouterGroup<Context>) {
        signedIn.post("/sessions/:id/previews/share") { request, context in try await sharePreview(request, context) }
        signedIn.post("/sessions/:id/previews/:share/revoke") { request, context in
            try await revokePreview(request, context)
        }
    }

    /// The section, or nil when the server has no previews or the session serves none (ended).
    func previewSection(_ session: Session, _ caller: Caller) async -> PreviewSection? {
        guard let previews, session.state == .running || session.state == .paused else { return nil }
        do {
            // A paused session is not woken just to list its ports: its shares still show.
            let links =
                session.state == .running ? try await previews.links(session.id, port: nil, by: caller) : []
            let now = Date()
            let shares = try await previews.shares(session: session.id, by: caller).map { s in
                PreviewShareRow(
                    id: s.id, port: String(s.port), audience: s.audience.description,
                    expires: Self.day.string(from: s.expiresAt), live: s.isLive(at: now),
                    state: s.revokedAt != nil ? "revoked" : (s.isLive(at: now) ? "live" : "expired"))
            }
            return PreviewSection(
                ports: links.map { PreviewPort(port: String($0.port), url: $0.url) }, shares: shares)
        } catch {
            // The rest of the page is still worth showing; the section says nothing rather than something wrong.
            return PreviewSection(ports: [], shares: [])
        }
    }

    func sharePreview(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let id = try sessionID(context)
        guard let previews else { throw HTTPError(.notFound, message: "Previews are off on this server.") }
        let form = try await FormFields.read(request)
        guard let port = UInt16(try form.required("port", "The port")), port > 0 else {
            throw HTTPError(.badRequest, message: "The port is a number from 1 to 65535.")
        }
        let ttl = try DurationText.parse(form["ttl"] ?? "24h")
        let audience = try PreviewAudience(parsing: form["audience"] ?? "team")
        let issued = try await previews.share(
            id, port: port, ttl: TimeInterval(ttl.components.seconds), audience: audience, by: person.caller)
        return try pages.page(
            "preview-shared",
            PreviewSharedPage(
                chrome: try await chrome(person, tab: "sessions"), sessionID: id.rawValue, url: issued.url,
                audience: audience.description, expires: Self.day.string(from: issued.share.expiresAt)))
    }

    func revokePreview(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let id = try sessionID(context)
        guard let previews, let share = context.parameters.get("share") else {
            throw HTTPError(.notFound, message: "There is no such share.")
        }
        _ = try await previews.revoke(share, session: id, by: person.caller)
        return .redirect(to: "/sessions/\(id)", type: .found)
    }
}
