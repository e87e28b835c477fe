import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import PaddockWeb
import Testing

/// `/v1/sessions/{id}/previews` and `/previews/authorize` through the real router (no sandboxes): shares are
/// made, listed and revoked as the wire contract says, and a signed-in browser sent from a preview host is
/// sent back with an exchange token that opens the preview once.
struct PreviewAPITests {
    static let password = "a preview tester's long passphrase"

    @Test func sharesAndTheSignInBridge() async throws {
        try await FakeStack.with("preview-api", everyRoute: true) { stack, v1, _ in
            let drive = RouteAuditTests.Drive(stack: stack, v1: v1, e2b: v1)
            let id = try await drive.session()
            let made = try await drive.send(
                v1, .post, "/v1/sessions/\(id)/previews/shares",
                json: #"{"port": 3000, "audience": "org", "ttl": "2h"}"#)
            #expect(made.status == .created)
            let share = try #require(try JSONSerialization.jsonObject(with: Data(made.text.utf8)) as? [String: Any])
            #expect(share["audience"] as? String == "org")
            #expect(
                (share["url"] as? String)?.hasPrefix("http://3000-\(id).preview.localhost/?paddock_share=pvs_") == true)
            #expect(share["expires_at"] != nil && share["id"] != nil)

            let listed = try await drive.send(v1, .get, "/v1/previews/shares")
            #expect(listed.text.contains(share["id"] as? String ?? "-"))
            #expect(!listed.text.contains("pvs_"), "a listed share never shows its secret")

            let wide = try await v1.execute(
                uri: "/v1/sessions/\(id)/previews/shares", method: .post, headers: stack.auth,
                body: ByteBuffer(string: #"{"port": 3000, "audience": "public"}"#))
            #expect(wide.status == .forbidden, "public shares need the server to allow them")

            // A session whose policy allows public shares may make one; the server's cap does not apply.
            let open = try await drive.send(
                v1, .post, "/v1/sessions",
                json: #"{"policy": {"text": "version: 1\npreviews: {max_audience: public}\n", "file": "runtime.yml"}}"#)
            let openID = try drive.field("id", of: open)
            let publicShare = try await v1.execute(
                uri: "/v1/sessions/\(openID)/previews/shares", method: .post, headers: stack.auth,
                body: ByteBuffer(string: #"{"port": 3000, "audience": "public"}"#))
            #expect(publicShare.status == .created, "\(publicShare.text)")

            _ = try await drive.send(v1, .delete, "/v1/previews/shares/\(share["id"] as? String ?? "-")")
            let after = try await drive.send(v1, .get, "/v1/sessions/\(id)/previews/shares")
            #expect(after.text.contains("revoked_at"))

            // The bridge: without a sign-in, to the sign-in page and back; signed in, to the preview host.
            let bridge = "/previews/authorize?session=\(id)&port=3000&next=%2Fdeep%3Fq%3D1"
            let anonymous = try await v1.execute(uri: bridge, method: .get, headers: [:], body: nil)
            #expect(anonymous.status == .seeOther || anonymous.status == .found)
            #expect(anonymous.headers[.location]?.hasPrefix("/signin?next=") == true)
            let (cookie, csrf) = try await drive.browser()
            // The session page's Previews section, and its share form (the same router, with the web pages).
            var withPages = stack.configuration
            withPages.webPages = try await PageRenderer.load()
            let web = Application(
                router: buildRouter(sessions: stack.sessions, tokens: stack.tokens, configuration: withPages))
            try await web.test(.router) { client in
                let page = try await client.execute(
                    uri: "/sessions/\(id)", method: .get, headers: [.cookie: "paddock_session=\(cookie)"], body: nil)
                #expect(page.status == .ok)
                #expect(page.text.contains("Make a share link"), "the session page offers a share link")
                #expect(page.text.contains("port 3000 · org"), "the page lists the session's shares")
                let form = try await client.execute(
                    uri: "/sessions/\(id)/previews/share", method: .post,
                    headers: [
                        .cookie: "paddock_session=\(cookie)", .contentType: "application/x-www-form-urlencoded",
                    ],
                    body: ByteBuffer(string: "_csrf=\(csrf)&port=3000&audience=org&ttl=1h"))
                #expect(form.status == .ok, "\(form.text)")
                #expect(form.text.contains("paddock_share=pvs_"), "the new link is shown once")
            }
            let signedIn = try await v1.execute(
                uri: bridge, method: .get, headers: [.cookie: "paddock_session=\(cookie)"], body: nil)
            let location = try #require(signedIn.headers[.location])
            #expect(location.hasPrefix("http://3000-\(id).preview.localhost/__paddock/exchange?t="))
            #expect(location.hasSuffix("&next=/deep%3Fq%3D1"))
            let previews = try #require(stack.configuration.previews)
            let token = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "t" }?.value)
            let grant = try await previews.redeem(exchange: token, session: id, port: 3000)
            #expect(grant.viewer == UserAccount.ownerName && grant.share == nil)
            await #expect(throws: PaddockError.self) {
                try await previews.redeem(exchange: token, session: id, port: 3000)
            }
        }
    }
}
