import Foundation
import Hummingbird
import PaddockCore
import PaddockServices
import PaddockWeb

/// The web UI signs people in through the same browser sessions as `/auth`: this puts `BrowserAuthenticator`
/// behind the pages' `WebAuthenticator`.
extension BrowserAuthenticator: WebAuthenticator {
    public func signedIn(_ request: inout Request) async throws -> SignedIn? {
        guard let signedIn = try await authenticate(&request) else { return nil }
        return SignedIn(principal: signedIn.principal, csrfToken: signedIn.csrfToken)
    }

    public func signIn(user: String, password: String, _ request: Request, address: String?) async throws -> Cookie {
        // No session exists yet to carry a CSRF token: a sign-in from another site is refused by its origin, so no
        // site can sign a browser in as someone else.
        try checkOrigin(request, required: false)
        return sessionCookie(
            try await signIn.signIn(
                user: user, password: password, address: address, userAgent: request.headers[.userAgent]))
    }

    public func invite(_ secret: String) async throws -> InviteOffer {
        let invite = try await signIn.invites.lookup(secret: secret)
        return InviteOffer(
            user: invite.user, role: invite.role, teams: invite.teams, invitedBy: invite.createdBy,
            expiresAt: invite.expiresAt)
    }

    public func redeem(_ secret: String, user: String?, password: String, _ request: Request, address: String?)
        async throws -> Cookie
    {
        try checkOrigin(request, required: false)
        return sessionCookie(
            try await signIn.invites.redeem(
                secret: secret, user: user, password: password, address: address,
                userAgent: request.headers[.userAgent]))
    }

    public func signOut(_ request: inout Request) async throws -> Cookie {
        if let signedIn = try await authenticate(&request) { try await signIn.sessions.end(signedIn) }
        return clearedSessionCookie()
    }

    public var singleSignOnPath: String? { signIn.oidc == nil ? nil : "/auth/oidc/start" }
}
