import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// Single sign-on end to end against `LoopbackIdentityProvider`, a real OpenID Connect provider on 127.0.0.1:
/// Paddock's requests are checked against OIDC Core and RFC 7636 on the provider's side, and ID tokens that
/// do not check out are refused on Paddock's.
@Suite struct OIDCTests {
    static let redirectURI = "http://127.0.0.1:7070/auth/oidc/callback"

    static func with(
        _ label: String, _ body: @Sendable (SignInStack, LoopbackIdentityProvider) async throws -> Void
    ) async throws {
        let idp = try await LoopbackIdentityProvider.start()
        defer { idp.stop() }
        let oidc = OIDCConfiguration(
            issuer: idp.issuer, clientID: idp.clientID, clientSecret: idp.clientSecret, redirectURI: redirectURI,
            teamsClaim: "groups")
        try await SignInStack.with(label, oidc: oidc) { stack in try await body(stack, idp) }
    }

    /// What a browser does: start, let the provider authorize, come back to the callback with the flow cookie.
    struct Flow {
        let start: TestResponse
        let flowCookie: String
        let callbackQuery: String
        let callback: TestResponse
    }

    static func signIn(
        _ stack: SignInStack, _ idp: LoopbackIdentityProvider, returnTo: String = "/sessions",
        flowCookie override: String? = nil
    ) async throws -> Flow {
        let start = try await stack.send(.get, "/auth/oidc/start?return_to=\(returnTo)")
        #expect(start.status == .found, "\(start.text)")
        let location = try #require(start.headers[.location])
        let flowCookie = try #require(SignInStack.cookie(BrowserAuthenticator.flowCookieName, in: start))
        let back = try idp.authorize(url: location)
        #expect(back.hasPrefix(redirectURI + "?"))
        let query = String(back.dropFirst(redirectURI.count + 1))
        let callback = try await stack.send(
            .get, "/auth/oidc/callback?" + query,
            headers: [.cookie: "\(BrowserAuthenticator.flowCookieName)=\(override ?? flowCookie)"])
        return Flow(start: start, flowCookie: flowCookie, callbackQuery: query, callback: callback)
    }

    @Test func signsInWithTheAuthorizationCodeAndPKCE() async throws {
        try await Self.with("oidc-e2e") { stack, idp in
            idp.signInAs(.init(subject: "s-1", preferredUsername: "Grace.Hopper", groups: ["/a", "nonexistent"]))
            let flow = try await Self.signIn(stack, idp)
            #expect(flow.callback.status == .found, "\(flow.callback.text)")
            #expect(flow.callback.headers[.location] == "/sessions")
            let session = try #require(SignInStack.setCookie(BrowserAuthenticator.cookieName, in: flow.callback))
            #expect(session.contains("HttpOnly") && session.contains("SameSite=Lax"))
            let flowCleared = try #require(
                SignInStack.setCookie(BrowserAuthenticator.flowCookieName, in: flow.callback))
            #expect(flowCleared.contains("Max-Age=0"))
            let flowSet = try #require(SignInStack.setCookie(BrowserAuthenticator.flowCookieName, in: flow.start))
            #expect(flowSet.contains("HttpOnly") && flowSet.contains("Path=/auth/oidc"))

            // The authorization request (OIDC Core §3.1.2.1, RFC 7636 §4.3).
            let authorize = try #require(idp.authorizeRequests.last).query
            #expect(authorize["response_type"] == "code" && authorize["client_id"] == idp.clientID)
            #expect(authorize["redirect_uri"] == Self.redirectURI)
            #expect(authorize["scope"]?.split(separator: " ").contains("openid") == true)
            #expect(authorize["state"] == flow.flowCookie, "the flow cookie binds the state to this browser")
            #expect((authorize["nonce"]?.count ?? 0) >= 43 && authorize["code_challenge_method"] == "S256")
            // The token request (RFC 6749 §4.1.3 and §2.3.1, RFC 7636 §4.5).
            let token = try #require(idp.tokenRequests.last)
            #expect(token.contentType == "application/x-www-form-urlencoded")
            #expect(token.form["grant_type"] == "authorization_code")
            #expect(token.form["redirect_uri"] == Self.redirectURI)
            #expect(token.form["code"] == LoopbackIdentityProvider.query(flow.callbackQuery)["code"])
            #expect(token.form["client_secret"] == nil, "client_secret_basic: the secret travels in the header only")
            let basic = Data(("paddock:" + "s3cret%20client%2Fsecret").utf8).base64EncodedString()
            #expect(token.authorization == "Basic " + basic)
            let verifier = try #require(token.form["code_verifier"])
            #expect(verifier.count == 43 && verifier.allSatisfy { $0.isLetter || $0.isNumber || "-._~".contains($0) })
            let challenge = LoopbackIdentityProvider.base64URL(Data(SHA256.hash(data: Data(verifier.utf8))))
            #expect(authorize["code_challenge"] == challenge)

            // The person: a new member named after preferred_username, in the teams the groups claim names.
            let cookie = try #require(SignInStack.cookie(BrowserAuthenticator.cookieName, in: flow.callback))
            let me = try await stack.send(
                .get, "/auth/me", headers: [.cookie: "\(BrowserAuthenticator.cookieName)=\(cookie)"])
            #expect(me.status == .ok && me.text.contains(#""user":"grace.hopper""#), "\(me.text)")
            #expect(me.text.contains(#""teams":{"a":["#) && me.text.contains(#""role":"member""#))
            let event = try #require(try await stack.events("signin.oidc").last)
            #expect(event.actor.user == "grace.hopper" && event.actor.token?.hasPrefix("web:") == true)
            #expect(event.fields["created"] == .bool(true) && event.fields["teams_added"] == .strings(["a"]))

            // The same subject again: the same account; the claim no longer names `a`, so they leave it.
            idp.signInAs(.init(subject: "s-1", preferredUsername: "someone-else", groups: []))
            let again = try await Self.signIn(stack, idp)
            #expect(again.callback.status == .found, "\(again.callback.text)")
            let second = try #require(try await stack.events("signin.oidc").last)
            #expect(second.actor.user == "grace.hopper" && second.fields["created"] == .bool(false))
            #expect(second.fields["teams_removed"] == .strings(["a"]))
            #expect(try await stack.store.team("a")?.members.contains("grace.hopper") == false)
            #expect(try await stack.store.user("someone-else") == nil)
            let trail = try await stack.trailText()
            #expect(!trail.contains(verifier) && !trail.contains(flow.flowCookie) && !trail.contains(cookie))
        }
    }

    static let refusals: [(LoopbackIdentityProvider.Misbehaviour, String)] = [
        (.tampered, "id_token_signature"), (.foreignKey, "id_token_signature"), (.wrongNonce, "id_token_nonce"),
        (.wrongAudience, "id_token_audience"), (.wrongIssuer, "id_token_issuer"), (.expired, "id_token_expired"),
        (.unsigned, "id_token_algorithm"), (.hmacWithPublicKey, "id_token_algorithm"),
    ]

    @Test(arguments: refusals)
    func idTokensThatDoNotCheckOutAreRefused(_ misbehaviour: LoopbackIdentityProvider.Misbehaviour, reason: String)
        async throws
    {
        try await Self.with("oidc-\(misbehaviour.rawValue)") { stack, idp in
            idp.signInAs(.init(subject: "s-2", preferredUsername: "mallory"))
            idp.misbehave(misbehaviour)
            let flow = try await Self.signIn(stack, idp)
            #expect(flow.callback.status == .unauthorized, "\(flow.callback.text)")
            #expect(flow.callback.text.contains("start again"))
            #expect(SignInStack.cookie(BrowserAuthenticator.cookieName, in: flow.callback) == nil)
            #expect(try await stack.store.user("mallory") == nil)
            let failed = try #require(try await stack.events("signin.failed").last)
            #expect(failed.fields["reason"] == .string(reason) && failed.fields["method"] == .string("oidc"))
        }
    }

    @Test func aCallbackFromAnotherBrowserOrAReplayIsRefused() async throws {
        try await Self.with("oidc-state") { stack, idp in
            // An attacker's half-finished sign-in, handed to a victim whose browser holds another flow cookie.
            let victimStart = try await stack.send(.get, "/auth/oidc/start")
            let victimCookie = try #require(SignInStack.cookie(BrowserAuthenticator.flowCookieName, in: victimStart))
            let forced = try await Self.signIn(stack, idp, flowCookie: victimCookie)
            #expect(forced.callback.status == .unauthorized)
            #expect(SignInStack.cookie(BrowserAuthenticator.cookieName, in: forced.callback) == nil)
            // A finished sign-in's callback, replayed with its cookie: the state was used up.
            let done = try await Self.signIn(stack, idp)
            #expect(done.callback.status == .found)
            let replay = try await stack.send(
                .get, "/auth/oidc/callback?" + done.callbackQuery,
                headers: [.cookie: "\(BrowserAuthenticator.flowCookieName)=\(done.flowCookie)"])
            #expect(replay.status == .unauthorized)
            let reasons = try await stack.events("signin.failed").map { $0.fields["reason"] }
            #expect(reasons.filter { $0 == .string("state_mismatch") }.count == 2)
        }
    }

    @Test func aTokenWithoutTheTeamsClaimLeavesTeamsAlone() async throws {
        try await Self.with("oidc-no-claim") { stack, idp in
            idp.signInAs(.init(subject: "s-4", preferredUsername: "lin", groups: ["a"]))
            #expect(try await Self.signIn(stack, idp).callback.status == .found)
            idp.signInAs(.init(subject: "s-4", preferredUsername: "lin", groups: nil))
            #expect(try await Self.signIn(stack, idp).callback.status == .found)
            #expect(try await stack.store.team("a")?.members.contains("lin") == true)
            let event = try #require(try await stack.events("signin.oidc").last)
            #expect(event.fields["teams_claim"] == .string("absent"))
        }
    }

    @Test func rotatedKeysAreFetchedAgain() async throws {
        try await Self.with("oidc-rotation") { stack, idp in
            #expect(try await Self.signIn(stack, idp).callback.status == .found)
            #expect(try await Self.signIn(stack, idp).callback.status == .found)
            #expect(idp.keyFetches == 1, "keys are cached")
            try idp.rotateKey()
            stack.clock.advance(31)
            let after = try await Self.signIn(stack, idp)
            #expect(after.callback.status == .found, "\(after.callback.text)")
            #expect(idp.keyFetches == 2, "an unknown kid fetches the keys again")
        }
    }

    @Test func anIdentityNeverTakesOverAnExistingAccountByName() async throws {
        try await Self.with("oidc-names") { stack, idp in
            idp.signInAs(.init(subject: "s-3", preferredUsername: "ada"))
            let flow = try await Self.signIn(stack, idp, returnTo: "https://evil.example.com/")
            #expect(flow.callback.status == .found)
            #expect(flow.callback.headers[.location] == "/", "return_to is a path on this server, or /")
            let created = try #require(try await stack.store.user("ada-2"))
            #expect(created.role == .member)
            #expect(try await stack.store.user("ada")?.role == .admin)
        }
    }
}
