import Foundation
import Hummingbird
import PaddockCore

/// A person signed in through the browser: who they are (exactly as a token would say) and the token their
/// forms must carry, so that another site cannot make their browser act for them.
public struct SignedIn: Sendable {
    public var principal: Principal
    public var csrfToken: String

    public init(principal: Principal, csrfToken: String) {
        self.principal = principal
        self.csrfToken = csrfToken
    }

    public var caller: Caller { Caller(principal) }
}

/// What an invite link offers, shown before the newcomer chooses a password.
public struct InviteOffer: Sendable {
    /// The account name the invite fixes, if it fixes one; otherwise the newcomer chooses.
    public var user: String?
    public var role: Role
    public var teams: [String]
    public var invitedBy: String
    public var expiresAt: Date

    public init(user: String?, role: Role, teams: [String], invitedBy: String, expiresAt: Date) {
        self.user = user
        self.role = role
        self.teams = teams
        self.invitedBy = invitedBy
        self.expiresAt = expiresAt
    }
}

/// How the pages sign people in and out: resolving a browser's session cookie, and starting and ending
/// sessions. The pages never see a password store or a cookie's format: the sign-in service behind this does.
/// Every call that starts a session refuses a request another site sent.
public protocol WebAuthenticator: Sendable {
    /// The person behind the request's session cookie; nil when there is none, or it expired or was ended. For a
    /// state-changing request it also refuses one without the session's CSRF token or from another origin.
    func signedIn(_ request: inout Request) async throws -> SignedIn?
    /// Signs in with a password and returns the session cookie to set.
    func signIn(user: String, password: String, _ request: Request, address: String?) async throws -> Cookie
    /// What the invite link `secret` offers; an error saying why when it is used, expired, revoked or unknown.
    func invite(_ secret: String) async throws -> InviteOffer
    /// Redeems the invite: creates the account with `password`, signs it in, returns the cookie to set.
    func redeem(_ secret: String, user: String?, password: String, _ request: Request, address: String?)
        async throws -> Cookie
    /// Ends the request's session, if any, and returns the cookie that clears it.
    func signOut(_ request: inout Request) async throws -> Cookie
    /// Where single sign-on starts (`?return_to=` is added), or nil when none is configured.
    var singleSignOnPath: String? { get }
}
