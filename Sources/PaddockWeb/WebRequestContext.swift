import Hummingbird

/// What the web pages need of the server's request context: a place for the person signed in, set by
/// `WebSignInMiddleware` on every page that needs one.
public protocol WebRequestContext: RequestContext {
    var signedIn: SignedIn? { get set }
    /// The client's IP address, for sign-in rate limits.
    var clientAddress: String? { get }
}

extension WebRequestContext {
    /// The person signed in; the middleware guarantees one on the pages it guards.
    func person() throws -> SignedIn {
        guard let signedIn else { throw HTTPError(.unauthorized, message: "sign in first") }
        return signedIn
    }
}
