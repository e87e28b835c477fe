import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// People signing in: password hashing, the rate limit, browser session cookies, CSRF, logout and expiry, and
/// that a browser acts — and is audited — as the person, through the production router.
@Suite struct SignInTests {
    // MARK: Password hashing

    @Test func passwordHashesRoundTripAndKeepTheirParameters() async throws {
        let hasher = PasswordHasher(parameters: SignInStack.cheapHashing)
        let a = try await hasher.credential(user: "ada", password: "a long enough passphrase")
        let b = try await hasher.credential(user: "ada", password: "a long enough passphrase")
        #expect(a.kdf == "scrypt" && a.parameters == "ln=10,r=8,p=1")
        #expect(a.salt.count == 16 && a.hash.count == 32)
        #expect(a.salt != b.salt && a.hash != b.hash, "every credential has its own salt")
        #expect(try await hasher.verify("a long enough passphrase", against: a))
        #expect(try await hasher.verify("a long enough passphrasE", against: a) == false)
        #expect(try await hasher.verify("", against: a) == false)
        // Raising the cost later: old credentials still verify, and are marked for re-hashing.
        let stronger = PasswordHasher(parameters: .init(logN: 11, r: 8, p: 1))
        #expect(try await stronger.verify("a long enough passphrase", against: a))
        #expect(stronger.needsRehash(a) && !hasher.needsRehash(a))
        #expect(PasswordHasher.Parameters.recommended.description == "ln=17,r=8,p=1")
        #expect(!"\(a)".contains(a.hash.map { String(format: "%02x", $0) }.joined()))
        // A row asking for gigabytes of memory is refused, not obeyed.
        var huge = a
        huge.parameters = "ln=30,r=8,p=1"
        await #expect(throws: PaddockError.self) { try await hasher.verify("x", against: huge) }
        #expect(throws: PaddockError.self) { try PasswordHasher.checkStrength("short") }
    }

    // MARK: Rate limit

    @Test func theThrottleCountsFailuresPerUserAndPerAddress() {
        var throttle = SignInThrottle(limits: .init(perUser: 3, perAddress: 5, window: .seconds(600)))
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        let ada: [SignInThrottle.Key] = [.user("ada"), .address("10.0.0.1")]
        for i in 0..<3 {
            #expect(throttle.check(ada, now: t0 + Double(i)) == .allowed)
            throttle.recordFailure(ada, now: t0 + Double(i))
        }
        // Refused until the oldest of the three ages out; reported once.
        #expect(throttle.check(ada, now: t0 + 10) == .refused(until: t0 + 600, first: true))
        #expect(throttle.check(ada, now: t0 + 11) == .refused(until: t0 + 600, first: false))
        #expect(throttle.check(ada, now: t0 + 601) == .allowed)
        // The address counts across names: five failures under five names exhaust it.
        let t1 = t0 + 1000
        for name in ["bob", "carol", "dan", "erin", "frank"] {
            throttle.recordFailure([.user(name), .address("10.0.0.1")], now: t1)
        }
        #expect(
            throttle.check([.user("grace"), .address("10.0.0.1")], now: t1 + 1)
                == .refused(until: t1 + 600, first: true))
        #expect(throttle.check([.user("grace"), .address("10.0.0.2")], now: t1 + 1) == .allowed)
        // A success clears the user's count, not the address's.
        throttle.recordFailure([.user("ada"), .address("10.0.0.3")], now: t1)
        throttle.recordFailure([.user("ada"), .address("10.0.0.4")], now: t1)
        throttle.recordFailure([.user("ada"), .address("10.0.0.5")], now: t1)
        #expect(throttle.check([.user("ada")], now: t1 + 1) != .allowed)
        throttle.recordSuccess(user: "ada")
        #expect(throttle.check([.user("ada"), .address("10.0.0.9")], now: t1 + 2) == .allowed)
        #expect(throttle.check([.address("10.0.0.1")], now: t1 + 2) != .allowed)
    }

    @Test func aBurstOfParallelGuessesStaysWithinTheLimit() async throws {
        try await SignInStack.with("signin-burst") { stack in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<12 {
                    group.addTask {
                        try await stack.send(
                            .post, "/auth/password", json: #"{"user": "alice", "password": "guess number \#(i)"}"#
                        ).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .unauthorized }.count == 5, "\(statuses)")
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 7)
        }
    }

    @Test func theThrottleForgetsTheStalestKeysWhenFull() {
        var throttle = SignInThrottle(limits: .init(perUser: 3, perAddress: 5, window: .seconds(600), maxKeys: 100))
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        for i in 0..<1000 { throttle.recordFailure([.user("u\(i)")], now: t0 + Double(i) / 100) }
        #expect(throttle.count <= 100)
    }

    @Test func wrongPasswordsAreRefusedAlikeRecordedAndRateLimited() async throws {
        try await SignInStack.with("signin-limit") { stack in
            let unknown = try await stack.send(
                .post, "/auth/password", json: #"{"user": "nobody", "password": "hunter2 hunter2"}"#)
            let wrong = try await stack.send(
                .post, "/auth/password", form: "user=alice&password=not+the+password")
            #expect(unknown.status == .unauthorized && wrong.status == .unauthorized)
            #expect(unknown.text == wrong.text, "an unknown name and a wrong password answer alike")
            for _ in 0..<4 {
                _ = try await stack.send(.post, "/auth/password", form: "user=alice&password=still+wrong+123")
            }
            // The fifth failure reached the limit: even the right password waits now, and is told how long.
            let limited = try await stack.send(
                .post, "/auth/password", json: #"{"user": "alice", "password": "\#(SignInStack.password)"}"#)
            #expect(limited.status == .tooManyRequests, "\(limited.text)")
            #expect(limited.text.contains("try again in"))
            let retry = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect(retry > 0 && retry <= 15 * 60)
            #expect(SignInStack.cookie(BrowserAuthenticator.cookieName, in: limited) == nil)
            _ = try await stack.send(.post, "/auth/password", form: "user=alice&password=again+and+again")
            stack.clock.advance(Double(retry) + 1)
            _ = try await stack.signIn("alice")

            let failures = try await stack.events("signin.failed")
            let reasons = failures.map { $0.fields["reason"] }
            #expect(reasons.filter { $0 == .string("wrong_password") }.count == 5)
            #expect(reasons.filter { $0 == .string("rate_limited") }.count == 1, "a lockout is recorded once")
            let unknownEvent = try #require(failures.first { $0.fields["reason"] == .string("unknown_user") })
            #expect(unknownEvent.fields["user"] == .null, "a name that is not a user may be a mistyped password")
            #expect(failures.allSatisfy { $0.actor.user == "anonymous (sign-in)" && $0.actor.token == nil })
            let trail = try await stack.trailText()
            for secret in ["hunter2", "not the password", "still wrong", SignInStack.password] {
                #expect(!trail.contains(secret))
            }
        }
    }

    // MARK: Cookies, CSRF, logout, expiry

    @Test func signingInSetsAnHttpOnlySameSiteCookie() async throws {
        try await SignInStack.with("signin-cookie") { stack in
            let response = try await stack.send(
                .post, "/auth/password",
                form: "user=ada&password="
                    + SignInStack.password.replacingOccurrences(
                        of: " ", with: "+"))
            #expect(response.status == .ok, "\(response.text)")
            let header = try #require(SignInStack.setCookie(BrowserAuthenticator.cookieName, in: response))
            let attributes = Set(
                header.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
            #expect(attributes.contains("HttpOnly") && attributes.contains("SameSite=Lax"))
            #expect(attributes.contains("Path=/") && attributes.contains("Max-Age=604800"))
            #expect(!attributes.contains("Secure"), "plain HTTP: a Secure cookie would never come back")
            let session = try SignInStack.field("session", of: response)
            #expect(session.hasPrefix("web:"))
            let event = try #require(try await stack.events("signin.password").last)
            #expect(event.actor == AuditActor(user: "ada", token: session))
        }
    }

    @Test func cookieRequestsThatChangeThingsNeedTheCSRFToken() async throws {
        try await SignInStack.with("signin-csrf") { stack in
            let ada = try await stack.signIn("ada")
            let me = try await stack.send(.get, "/v1/me", headers: ada.cookieHeader)
            #expect(me.status == .ok && me.text.contains(#""token_id":"web:"#), "\(me.text)")

            let create = #"{"name": "red"}"#
            let missing = try await stack.send(.post, "/v1/teams", json: create, headers: ada.cookieHeader)
            #expect(missing.status == .forbidden && missing.text.contains("CSRF"), "\(missing.text)")
            var forged = ada.cookieHeader
            forged[BrowserAuthenticator.csrfHeader] = String(ada.csrf.reversed())
            #expect(try await stack.send(.post, "/v1/teams", json: create, headers: forged).status == .forbidden)
            var crossSite = ada.cookieHeader
            crossSite[BrowserAuthenticator.csrfHeader] = ada.csrf
            crossSite[.origin] = "https://evil.example.com"
            #expect(try await stack.send(.post, "/v1/teams", json: create, headers: crossSite).status == .forbidden)
            #expect(try await stack.teams().isEmpty, "nothing refused was done")

            var good = ada.cookieHeader
            good[BrowserAuthenticator.csrfHeader] = ada.csrf
            let made = try await stack.send(.post, "/v1/teams", json: create, headers: good)
            #expect(made.status == .created, "\(made.text)")
            // A bearer token needs no CSRF token, and wins over a cookie sent alongside.
            var bearer = ada.cookieHeader
            bearer[.authorization] = "Bearer \(stack.adminToken)"
            let byToken = try await stack.send(.post, "/v1/teams", json: #"{"name": "blue"}"#, headers: bearer)
            #expect(byToken.status == .created, "\(byToken.text)")
            let events = try await stack.events("team.create")
            #expect(events.first?.actor.user == "ada" && events.first?.actor.token?.hasPrefix("web:") == true)
            #expect(events.last?.actor.user == "owner")
        }
    }

    @Test func aWebSocketHandshakeWithACookieMustComeFromThisServer() async throws {
        try await SignInStack.with("signin-ws", publicURL: "https://paddock.example.com") { stack in
            let ada = try await stack.signIn("ada")
            var upgrade = ada.cookieHeader
            upgrade[.upgrade] = "websocket"
            let noOrigin = try await stack.send(.get, "/v1/me", headers: upgrade)
            #expect(noOrigin.status == .forbidden, "browsers send cookies on cross-site handshakes: Origin decides")
            upgrade[.origin] = "https://preview.paddock.example.com"
            #expect(try await stack.send(.get, "/v1/me", headers: upgrade).status == .forbidden)
            upgrade[.origin] = "https://paddock.example.com"
            #expect(try await stack.send(.get, "/v1/me", headers: upgrade).status == .ok)
            var crossSite = ada.cookieHeader
            crossSite[BrowserAuthenticator.csrfHeader] = ada.csrf
            crossSite[try #require(HTTPField.Name("Sec-Fetch-Site"))] = "cross-site"
            #expect(
                try await stack.send(.post, "/v1/teams", json: #"{"name": "x"}"#, headers: crossSite).status
                    == .forbidden)
        }
    }

    @Test func theWebPagesSignPeopleInWithTheSessionCookie() async throws {
        try await SignInStack.with("signin-web", web: true) { stack in
            let anonymous = try await stack.send(.get, "/sessions")
            #expect(anonymous.status == .found || anonymous.status == .seeOther)
            let alice = try await stack.signIn("alice")
            var api = alice.cookieHeader
            api[BrowserAuthenticator.csrfHeader] = alice.csrf
            let created = try await stack.send(
                .post, "/v1/sessions", json: #"{"name": "fix the login page"}"#, headers: api)
            let id = try SignInStack.field("id", of: created)
            let list = try await stack.send(.get, "/sessions", headers: alice.cookieHeader)
            #expect(list.status == .ok && list.text.contains("fix the login page"), "\(list.text)")
            #expect(list.text.contains(alice.csrf), "the pages' forms carry the session's CSRF token")
            var form = alice.cookieHeader
            form[.contentType] = "application/x-www-form-urlencoded"
            let noToken = try await stack.send(.post, "/sessions/\(id)/stop", form: "", headers: alice.cookieHeader)
            #expect(noToken.status == .forbidden)
            let stopped = try await stack.send(
                .post, "/sessions/\(id)/stop", form: "_csrf=" + alice.csrf, headers: form)
            #expect(stopped.status == .found, "\(stopped.text)")
            var crossSite = alice.cookieHeader
            crossSite[.origin] = "https://evil.example.com"
            let refused = try await stack.send(
                .post, "/sessions/\(id)/stop", form: "_csrf=" + alice.csrf, headers: crossSite)
            #expect(refused.status == .forbidden, "a form posted from another site is refused")
            _ = try await stack.send(.post, "/auth/logout", form: "_csrf=" + alice.csrf, headers: alice.cookieHeader)
            let after = try await stack.send(.get, "/sessions", headers: alice.cookieHeader)
            #expect(after.status == .found || after.status == .seeOther, "signed out: back to the sign-in page")
        }
    }

    @Test func logoutEndsTheSession() async throws {
        try await SignInStack.with("signin-logout") { stack in
            let alice = try await stack.signIn("alice")
            let noToken = try await stack.send(.post, "/auth/logout", headers: alice.cookieHeader)
            #expect(noToken.status == .forbidden, "logging out is a change too: it needs the CSRF token")
            let out = try await stack.send(
                .post, "/auth/logout", form: "_csrf=" + alice.csrf, headers: alice.cookieHeader)
            #expect(out.status == .ok, "\(out.text)")
            let cleared = try #require(SignInStack.setCookie(BrowserAuthenticator.cookieName, in: out))
            #expect(cleared.contains("Max-Age=0"))
            #expect(try await stack.send(.get, "/auth/me", headers: alice.cookieHeader).status == .unauthorized)
            let api = try await stack.send(.get, "/v1/me", headers: alice.cookieHeader)
            #expect(api.status == .unauthorized && api.text.contains("sign in again"), "\(api.text)")
            let event = try #require(try await stack.events("signout").first)
            #expect(event.actor.user == "alice" && event.actor.token?.hasPrefix("web:") == true)
        }
    }

    @Test func sessionsEndWhenIdleAndAtTheirLifetime() async throws {
        let limits = BrowserSessions.Limits(idle: .seconds(600), lifetime: .seconds(3600), touchInterval: .seconds(60))
        try await SignInStack.with("signin-expiry", sessions: limits) { stack in
            let idle = try await stack.signIn("alice")
            stack.clock.advance(601)
            #expect(try await stack.send(.get, "/auth/me", headers: idle.cookieHeader).status == .unauthorized)

            let busy = try await stack.signIn("alice")
            for _ in 0..<11 {
                stack.clock.advance(300)
                let me = try await stack.send(.get, "/auth/me", headers: busy.cookieHeader)
                #expect(me.status == .ok, "used every five minutes, the session stays")
            }
            stack.clock.advance(301)
            let ended = try await stack.send(.get, "/v1/me", headers: busy.cookieHeader)
            #expect(ended.status == .unauthorized, "an hour after sign-in it ends however busy it is")
        }
    }

    @Test func aBrowserSessionActsAsThePerson() async throws {
        try await SignInStack.with("signin-actor") { stack in
            let alice = try await stack.signIn("alice")
            var headers = alice.cookieHeader
            headers[BrowserAuthenticator.csrfHeader] = alice.csrf
            let created = try await stack.send(.post, "/v1/sessions", json: "{}", headers: headers)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(SessionID(rawValue: try SignInStack.field("id", of: created)))
            let session = try await stack.sessions.get(id)
            #expect(session.team == "a" && session.createdBy == "alice")
            let events = try await #require(stack.sessions.audit).events(session: id)
            let create = try #require(events.first { $0.kind == "session.create" })
            let me = try await stack.send(.get, "/auth/me", headers: alice.cookieHeader)
            #expect(create.actor == AuditActor(user: "alice", token: try SignInStack.field("session", of: me)))
            #expect(me.text.contains(#""teams":{"a":["#), "\(me.text)")
            // A member's browser is still a member: admin routes are refused.
            let admin = try await stack.send(.post, "/v1/teams", json: #"{"name": "x"}"#, headers: headers)
            #expect(admin.status == .forbidden)
        }
    }

    @Test func settingAPasswordSignsTheUserOutEverywhere() async throws {
        try await SignInStack.with("signin-setpw") { stack in
            let alice = try await stack.signIn("alice")
            let bearer: HTTPFields = [.authorization: "Bearer \(stack.adminToken)"]
            let set = try await stack.send(
                .put, "/v1/users/alice/password", json: #"{"password": "a brand new passphrase"}"#, headers: bearer)
            #expect(set.status == .noContent, "\(set.text)")
            #expect(try await stack.send(.get, "/auth/me", headers: alice.cookieHeader).status == .unauthorized)
            _ = try await stack.signIn("alice", password: "a brand new passphrase")
            let old = try await stack.send(
                .post, "/auth/password", json: #"{"user": "alice", "password": "\#(SignInStack.password)"}"#)
            #expect(old.status == .unauthorized)
            let aliceBrowser = try await stack.signIn("alice", password: "a brand new passphrase")
            var headers = aliceBrowser.cookieHeader
            headers[BrowserAuthenticator.csrfHeader] = aliceBrowser.csrf
            let refused = try await stack.send(
                .put, "/v1/users/ada/password", json: #"{"password": "taking over ada now"}"#, headers: headers)
            #expect(refused.status == .forbidden)
            let event = try #require(try await stack.events("user.password").last)
            #expect(event.fields["user"] == .string("alice") && event.fields["sessions_ended"] == .int(1))
            #expect(!(try await stack.trailText()).contains("brand new"))
        }
    }

    @Test func overTLSTheCookieIsSecure() async throws {
        let dir = TestHost.makeDataDirectory("signin-tls")
        defer { TestHost.removeDataDirectory(dir) }
        let store = try SQLiteStore(path: dir + "/paddock.sqlite")
        let sessions = SessionService(store: store, providers: [:], logger: TestHost.quietLogger("signin-tls"))
        let signIn = SignInService(
            store: store, trail: sessions.orgTrail,
            configuration: SignInConfiguration(passwordHashing: SignInStack.cheapHashing))
        try await store.insertUser(UserAccount(name: "ada", role: .admin, createdAt: Date()))
        try await signIn.setPassword(user: "ada", password: SignInStack.password, by: .system)
        var configuration = ServerConfiguration(port: 0)
        configuration.signIn = signIn
        configuration.tls = try TLSFixture.server()
        let app = buildApplication(
            sessions: sessions, tokens: TokenService(store: store), configuration: configuration,
            logger: TestHost.quietLogger("signin-tls"))
        try await app.test(.ahc(.https)) { client in
            let response = try await client.execute(
                uri: "/auth/password", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"user": "ada", "password": "\#(SignInStack.password)"}"#))
            #expect(response.status == .ok, "\(response.text)")
            let header = try #require(SignInStack.setCookie(BrowserAuthenticator.cookieName, in: response))
            let attributes = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(attributes.contains("Secure") && attributes.contains("HttpOnly"), "\(header)")
            #expect(attributes.contains("SameSite=Lax"))
        }
    }

    // MARK: Invites

    @Test func invitesAreSingleUseAndExpire() async throws {
        try await SignInStack.with("signin-invite", publicURL: "https://paddock.example.com/") { stack in
            let bearer: HTTPFields = [.authorization: "Bearer \(stack.adminToken)"]
            let made = try await stack.send(
                .post, "/v1/invites", json: #"{"role": "member", "teams": ["a"], "ttl": "1h"}"#, headers: bearer)
            #expect(made.status == .created, "\(made.text)")
            let link = try SignInStack.field("link", of: made)
            #expect(link.hasPrefix("/invite/pdi_"))
            #expect(try SignInStack.field("url", of: made) == "https://paddock.example.com" + link)
            let secret = String(link.dropFirst("/invite/".count))

            let offered = try await stack.send(.get, "/auth" + link)
            #expect(offered.status == .ok && offered.text.contains(#""role":"member""#), "\(offered.text)")
            let weak = try await stack.send(.post, "/auth" + link, json: #"{"user": "grace", "password": "short"}"#)
            #expect(weak.status == .badRequest, "a weak password is refused before the invite is used")
            let redeemed = try await stack.send(
                .post, "/auth" + link, json: #"{"user": "grace", "password": "graces own passphrase"}"#)
            #expect(redeemed.status == .ok, "\(redeemed.text)")
            #expect(SignInStack.cookie(BrowserAuthenticator.cookieName, in: redeemed) != nil)
            let grace = try #require(try await stack.store.user("grace"))
            #expect(grace.role == .member)
            #expect(try await stack.store.team("a")?.members.contains("grace") == true)
            let again = try await stack.send(
                .post, "/auth" + link, json: #"{"user": "mallory", "password": "mallorys passphrase"}"#)
            #expect(again.status == .conflict && again.text.contains("already used"), "\(again.text)")
            #expect(try await stack.store.user("mallory") == nil)

            // Expiry, revocation and a made-up link.
            let short = try await stack.send(
                .post, "/v1/invites", json: #"{"user": "heidi", "ttl": "2m"}"#, headers: bearer)
            let shortLink = try SignInStack.field("link", of: short)
            stack.clock.advance(121)
            let expired = try await stack.send(.post, "/auth" + shortLink, json: #"{"password": "heidis passphrase"}"#)
            #expect(expired.status == .conflict && expired.text.contains("expired"), "\(expired.text)")
            let third = try await stack.send(.post, "/v1/invites", json: "{}", headers: bearer)
            let revoked = try await stack.send(
                .delete, "/v1/invites/\(try SignInStack.field("id", of: third))", headers: bearer)
            #expect(revoked.status == .ok)
            let afterRevoke = try await stack.send(
                .post, "/auth" + (try SignInStack.field("link", of: third)),
                json: #"{"user": "ivan", "password": "ivans passphrase"}"#)
            #expect(afterRevoke.status == .conflict && afterRevoke.text.contains("revoked"))
            let madeUp = try await stack.send(
                .post, "/auth/invite/pdi_" + String(repeating: "0", count: 64), json: #"{"password": "whatever x y z"}"#
            )
            #expect(madeUp.status == .notFound)

            // Only admins make invites.
            let alice = try await stack.signIn("alice")
            var member = alice.cookieHeader
            member[BrowserAuthenticator.csrfHeader] = alice.csrf
            #expect(try await stack.send(.post, "/v1/invites", json: "{}", headers: member).status == .forbidden)

            let create = try #require(try await stack.events("invite.create").first)
            #expect(create.actor.user == "owner" && create.fields["teams"] == .strings(["a"]))
            let redeem = try #require(try await stack.events("invite.redeem").first)
            #expect(redeem.actor.user == "grace" && redeem.actor.token?.hasPrefix("web:") == true)
            let reasons = try await stack.events("signin.failed").compactMap { $0.fields["reason"] }
            for reason in ["invite_used", "invite_expired", "invite_revoked", "invite_unknown"] {
                #expect(reasons.contains(.string(reason)), "\(reason) is recorded")
            }
            let trail = try await stack.trailText()
            #expect(!trail.contains(secret) && !trail.contains("graces own passphrase"))
        }
    }

    // MARK: Secrets

    @Test func secretsNeverBecomeText() async throws {
        try await SignInStack.with("signin-redaction") { stack in
            let admin = Caller(
                Principal(
                    user: "owner", role: .owner, tokenID: "t", scopes: Set(Permission.allCases), teams: [:]))
            let invite = try await stack.signIn.invites.create(user: "judy", by: admin)
            let issued = try await stack.signIn.signIn(
                user: "ada", password: SignInStack.password, address: "127.0.0.1", userAgent: nil)
            let credential = try #require(try await stack.store.password(user: "ada"))
            let oidc = OIDCConfiguration(
                issuer: "https://idp.example.com", clientID: "paddock", clientSecret: "client-secret-value",
                redirectURI: "https://paddock.example.com/auth/oidc/callback")
            let texts = ["\(invite)", "\(issued)", "\(credential)", "\(oidc)", String(describing: issued)]
            for text in texts {
                #expect(!text.contains(invite.secret) && !text.contains(issued.cookie))
                #expect(!text.contains("client-secret-value") && !text.contains(issued.csrfToken))
            }
            let trail = try await stack.trailText()
            #expect(
                !trail.contains(invite.secret) && !trail.contains(issued.cookie) && !trail.contains(issued.csrfToken))
            let stored = try await stack.store.browserSessions(user: "ada")
            #expect(!"\(stored)".contains(issued.cookie), "the store keeps a hash of the cookie only")
        }
    }
}

extension SignInStack {
    func teams() async throws -> [TeamRecord] { try await store.teams().filter { $0.name != "a" } }
}
