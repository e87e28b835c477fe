import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// A team's invites and API tokens. A new invite's link and a new token are shown once, on the page that answers
/// the form (served `no-store`), and never again: only their hashes are kept.
extension WebRoutes {
    struct InviteRow: Sendable {
        var id: String
        var who: String
        var role: String
        var createdBy: String
        var expires: String
    }

    struct InvitesPage: Sendable {
        var chrome: Chrome
        var admin: AdminFrame
        var available: Bool
        var invites: [InviteRow]
        /// The link just made, shown this once.
        var link: String?
        var done: String?
    }

    func invitesPage(_ request: Request, _ context: Context) async throws -> Response {
        try await renderInvites(request, context, link: nil)
    }

    func renderInvites(_ request: Request, _ context: Context, link: String?) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "invites")
        let rows = try await invites?.open(team: frame.team, by: person.caller).map {
            InviteRow(
                id: $0.id, who: $0.user ?? $0.email ?? "whoever opens the link", role: $0.role.rawValue,
                createdBy: $0.createdBy, expires: Self.day.string(from: $0.expiresAt))
        }
        let page = InvitesPage(
            chrome: try await chrome(person, tab: "admin"), admin: frame, available: invites != nil,
            invites: rows ?? [], link: link, done: Self.done(request))
        return try pages.page("admin-invites", page)
    }

    func createInvite(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "invites")
        guard let invites else { throw Self.noSignIn }
        let form = try await FormFields.read(request)
        let ttl = try Self.duration(form["ttl"] ?? "72h", what: "How long the link works")
        let created = try await invites.create(
            role: try Role(parsing: form["role"] ?? "member"), teams: [frame.team], user: Self.optional(form["user"]),
            email: Self.optional(form["email"]), ttl: ttl, by: person.caller)
        return try await renderInvites(request, context, link: created.url ?? created.path)
    }

    func revokeInvite(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "invites")
        guard let invites else { throw Self.noSignIn }
        guard let id = context.parameters.get("invite") else { throw HTTPError(.notFound) }
        _ = try await invites.revoke(id: id, team: frame.team, by: person.caller)
        return Self.redirect(frame.team, "invites", done: "revoked")
    }

    static var noSignIn: HTTPError {
        HTTPError(.notFound, message: "This server signs nobody in through the browser, so it makes no invites.")
    }

    static func optional(_ value: String?) -> String? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    static func duration(_ text: String, what: String) throws -> Duration {
        do { return try DurationText.parse(text) } catch {
            throw HTTPError(.badRequest, message: "\(what) is not a duration such as 72h or 30d.")
        }
    }

    // MARK: Tokens

    struct TokenRow: Sendable {
        var id: String
        var name: String
        var user: String
        var scopes: String
        var created: String
        var expires: String
    }

    struct TokensPage: Sendable {
        var chrome: Chrome
        var admin: AdminFrame
        var tokens: [TokenRow]
        var members: [String]
        /// The token just made, shown this once.
        var secret: String?
        var secretUser: String?
        var done: String?
    }

    func tokensPage(_ request: Request, _ context: Context) async throws -> Response {
        try await renderTokens(request, context, secret: nil, user: nil)
    }

    func renderTokens(_ request: Request, _ context: Context, secret: String?, user: String?) async throws -> Response {
        let person = try context.person()
        let (frame, people) = try await adminFrame(person, context, section: "tokens")
        let rows = try await access.tokens(ofTeam: frame.team, by: person.caller).map {
            TokenRow(
                id: $0.id, name: $0.name, user: $0.user ?? "-", scopes: Permission.describe($0.scopes),
                created: Self.day.string(from: $0.createdAt),
                expires: $0.expiresAt.map { Self.day.string(from: $0) } ?? "never")
        }
        let page = TokensPage(
            chrome: try await chrome(person, tab: "admin"), admin: frame, tokens: rows,
            members: people.members.map(\.name), secret: secret, secretUser: user, done: Self.done(request))
        return try pages.page("admin-tokens", page)
    }

    func createToken(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (_, people) = try await adminFrame(person, context, section: "tokens")
        let form = try await FormFields.read(request)
        let user = try form.required("user", "Whose token it is")
        guard people.members.contains(where: { $0.name == user }) else {
            throw HTTPError(.badRequest, message: "'\(user)' is not a member of this team; pick one from the list.")
        }
        let scopes = Set(form.all("scope").compactMap(Permission.init(rawValue:)))
        let expires = form["expires"].flatMap { $0.isEmpty ? nil : $0 }
        let created = try await access.createToken(
            name: Self.optional(form["name"]), user: user, scopes: scopes.isEmpty ? nil : scopes,
            expiresIn: try expires.map { try Self.duration($0, what: "When it expires") }, by: person.caller)
        return try await renderTokens(request, context, secret: created.token, user: user)
    }

    func revokeToken(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "tokens")
        guard let id = context.parameters.get("token") else { throw HTTPError(.notFound) }
        _ = try await access.revokeToken(id: id, ofTeam: frame.team, by: person.caller)
        return Self.redirect(frame.team, "tokens", done: "revoked")
    }
}
