import Foundation
import PaddockCore
import PaddockStore
import PaddockTestSupport
import Testing

extension OIDCTests {
    /// A sign-in keeps the e-mail address the provider verified (`email_verified: true`) with the account — what
    /// Slack users are mapped by — and never an unverified one, nor one another account already holds.
    @Test func aVerifiedEmailIsKeptWithTheAccount() async throws {
        try await Self.with("oidc-email") { stack, idp in
            idp.signInAs(
                .init(subject: "s-v", preferredUsername: "grace", email: "Grace@Example.com", emailVerified: true))
            #expect(try await Self.signIn(stack, idp).callback.status == .found)
            #expect(try await stack.store.user(verifiedEmail: "grace@example.com") == "grace")
            let event = try #require(try await stack.events("signin.oidc").last)
            #expect(event.fields["verified_email"] == .string("grace@example.com"))

            idp.signInAs(.init(subject: "s-u", preferredUsername: "mallory", email: "ada@example.com"))
            #expect(try await Self.signIn(stack, idp).callback.status == .found)
            idp.signInAs(
                .init(subject: "s-f", preferredUsername: "eve", email: "ada@example.com", emailVerified: false))
            #expect(try await Self.signIn(stack, idp).callback.status == .found)
            #expect(try await stack.store.user(verifiedEmail: "ada@example.com") == nil)

            // Grace's address verified by another identity: it stays Grace's.
            idp.signInAs(
                .init(subject: "s-x", preferredUsername: "imposter", email: "grace@example.com", emailVerified: true))
            #expect(try await Self.signIn(stack, idp).callback.status == .found)
            #expect(try await stack.store.user(verifiedEmail: "grace@example.com") == "grace")
        }
    }
}
