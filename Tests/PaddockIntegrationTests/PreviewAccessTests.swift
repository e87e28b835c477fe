import Crypto
import Foundation
import PaddockCore
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// A member's preview cookie stands on the credential it was made from: signing out, a revoked token, leaving
/// the team end it on the next request, though the cookie itself would last hours. No sandboxes: the grant is
/// checked before anything reaches the app.
@Suite struct PreviewMemberAccessTests {
    @Test func aMembersPreviewCookieEndsWithTheirSignInTheirTokenOrTheirTeam() async throws {
        try await SignInStack.with("preview-member-access") { stack in
            let previews = try PreviewService(
                sessions: stack.sessions, store: stack.store, key: SymmetricKey(size: .bits256),
                address: PreviewAddress(), logger: TestHost.quietLogger("test.previews"))
            let access = AccessService(tokens: stack.tokens, trail: stack.sessions.orgTrail)
            let session = try await stack.sessions.create(SessionSpec(), owner: SessionOwner(team: "a", user: "alice"))
            func cookie(for principal: Principal) async throws -> String {
                let token = try await previews.exchangeToken(
                    for: principal, session: session.id, port: 8000, shareSecret: nil)
                let grant = try await previews.redeem(exchange: token, session: session.id, port: 8000)
                return try previews.cookieValue(grant)
            }
            func admitted(_ cookie: String) async throws -> Bool {
                try await previews.admit(cookie: cookie, session: session.id, port: 8000) != nil
            }

            // Signed in to the UI: the cookie works until the team or the sign-in goes.
            let browser = try await stack.signIn("alice")
            let signedIn = try #require(try await stack.signIn.sessions.resolve(cookie: browser.cookie))
            let fromBrowser = try await cookie(for: signedIn.principal)
            #expect(try await admitted(fromBrowser))
            _ = try await access.setMembership(team: "a", user: "alice", member: false, by: .system)
            #expect(try await !admitted(fromBrowser), "leaving the team ends it")
            _ = try await access.setMembership(team: "a", user: "alice", member: true, by: .system)
            #expect(try await admitted(fromBrowser))
            try await stack.signIn.sessions.end(signedIn)
            #expect(try await !admitted(fromBrowser), "signing out ends it")

            // Let in by a token: revoking the token ends it.
            let issued = try await stack.tokens.issueRecord(
                name: "alice-script", user: "alice", scopes: Role.member.ceiling, expiresAt: nil)
            let principal = try #require(try await stack.tokens.authenticate(issued.token))
            let fromToken = try await cookie(for: principal)
            #expect(try await admitted(fromToken))
            _ = try await access.revokeToken(id: issued.record.id, by: .system)
            #expect(try await !admitted(fromToken), "revoking the token ends it")
        }
    }

    /// A browser connection remembers its admitted cookie between requests (`PreviewAdmission`), and that memory
    /// never outlives a change: a revoked share, leaving the team, a revoked token end it on the very next request.
    @Test func aConnectionsRememberedAdmissionEndsAtOnceWhenAccessChanges() async throws {
        try await SignInStack.with("preview-connection-admission") { stack in
            let previews = try PreviewService(
                sessions: stack.sessions, store: stack.store, key: SymmetricKey(size: .bits256),
                address: PreviewAddress(), logger: TestHost.quietLogger("test.previews"))
            await previews.setMaxAudience(.public)
            let access = AccessService(tokens: stack.tokens, trail: stack.sessions.orgTrail)
            let session = try await stack.sessions.create(SessionSpec(), owner: SessionOwner(team: "a", user: "alice"))
            var connection: PreviewAdmission?
            func admitted(_ cookie: String) async throws -> Bool {
                try await previews.admit(cookie: cookie, session: session.id, port: 8000, cached: &connection) != nil
            }

            // A public link's cookie: remembered, until the share is revoked.
            let issued = try await previews.share(session.id, port: 8000, ttl: 3600, audience: .public, by: .system)
            let secret = try #require(issued.url.split(separator: "=").last.map(String.init))
            guard
                case .granted(let grant) = try await previews.open(shareSecret: secret, session: session.id, port: 8000)
            else { throw PaddockError.internal("a public link did not grant") }
            let shareCookie = try previews.cookieValue(grant)
            #expect(try await admitted(shareCookie))
            #expect(connection != nil)
            #expect(try await admitted(shareCookie))
            #expect(try await !admitted("forged" + shareCookie), "another cookie on the connection is checked anew")
            #expect(try await admitted(shareCookie))
            _ = try await previews.revoke(issued.share.id, by: .system)
            #expect(try await !admitted(shareCookie), "a revoke ends it on the next request")

            // A member's cookie: remembered, until their access changes.
            let issuedToken = try await stack.tokens.issueRecord(
                name: "alice-script", user: "alice", scopes: Role.member.ceiling, expiresAt: nil)
            let principal = try #require(try await stack.tokens.authenticate(issuedToken.token))
            let exchange = try await previews.exchangeToken(
                for: principal, session: session.id, port: 8000, shareSecret: nil)
            let member = try previews.cookieValue(
                try await previews.redeem(exchange: exchange, session: session.id, port: 8000))
            #expect(try await admitted(member))
            #expect(try await admitted(member))
            _ = try await access.setMembership(team: "a", user: "alice", member: false, by: .system)
            #expect(try await !admitted(member), "leaving the team ends it on the next request")
            _ = try await access.setMembership(team: "a", user: "alice", member: true, by: .system)
            #expect(try await admitted(member))
            _ = try await access.revokeToken(id: issuedToken.record.id, by: .system)
            #expect(try await !admitted(member), "revoking the token ends it on the next request")
        }
    }
}
