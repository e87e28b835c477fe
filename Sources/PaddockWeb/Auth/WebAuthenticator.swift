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

/// Resolves a browser's request to the person signed in on it (from its session cookie), and signs people in
/// and out. The pages never see a password store or a cookie format: the sign-in service behind this does.
public protocol WebAuthenticator: Sendable {
    /// The person behind the request's session cookie; nil when there is none, or it expired or was ended.
    func signedIn(_ request: Request) async throws -> SignedIn?
}
