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
import PaddockWeb
import Testing

/// The web UI's pages, in-process through the production router, without a browser: who sees what, that
/// everything an agent or a file name can carry is rendered as text, that forms need the CSRF token, and the
/// headers every page is served with. The browser story is `WebStoryTests`.
struct WebPageTests {
    static func withWeb(_ body: @Sendable (WebTestStack) async throws -> Void) async throws {
        try await WebTestStack.with(body)
    }

    @Test func aBrowserWithoutASessionIsSentToSignIn() async throws {
        try await Self.withWeb { web in
            let (status, headers, _) = try await web.get("/sessions/abc?x=1", as: nil)
            #expect(status == .seeOther || status == .found)
            #expect(headers[.location] == "/signin?next=/sessions/abc%3Fx%3D1")
        }
    }

    @Test func aMemberSeesTheirTeamsSessionsAndNotAnotherTeams() async throws {
        try await Self.withWeb { web in
            let (status, headers, list) = try await web.get("/sessions", as: "alice")
            #expect(status == .ok)
            #expect(list.contains("fix the a dashboard") && !list.contains("fix the b dashboard"))
            #expect(headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            let mine = try await web.get("/sessions/\(web.sessions["sa"]!)", as: "alice")
            #expect(mine.0 == .ok)
            let theirs = try await web.get("/sessions/\(web.sessions["sb"]!)", as: "alice")
            #expect(theirs.0 == .notFound, "another team's session is not found, not forbidden")
            #expect(!theirs.2.contains("fix the b dashboard"))
            let live = try await web.get("/sessions/\(web.sessions["sb"]!)/live", as: "alice")
            #expect(live.0 == .notFound)
        }
    }

    @Test func whatAnAgentWritesIsShownAsTextNeverAsMarkup() async throws {
        try await Self.withWeb { web in
            let id = try #require(web.sessions["sa"])
            let audit = try #require(web.service.audit)
            let attack = "<script>alert('x')</script>"
            try await audit.record(
                session: id, kind: "exec", actor: AuditActor(user: "alice", token: nil),
                fields: ["argv": .list([.string("echo"), .string(attack)]), "exit": .int(0)])
            try await audit.record(
                session: id, kind: "file.write", actor: AuditActor(user: "alice", token: nil),
                fields: ["path": .string("/workspace/<img src=x onerror=alert(1)>.txt")])
            let (_, _, page) = try await web.get("/sessions/\(id)", as: "alice")
            #expect(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
            #expect(page.contains("&lt;img src=x onerror=alert(1)&gt;.txt"))
            #expect(!page.contains("<script>alert") && !page.contains("<img src=x"))
            // Values the templates read are stored properties (reflection sees no computed ones).
            #expect(page.range(of: #"<time>\d\d:\d\d:\d\d</time>"#, options: .regularExpression) != nil)
            #expect(!page.contains("Nothing has happened yet"))
        }
    }

    @Test func theAuditTrailIsShownVerifiedAndExportedToItsTeamOnly() async throws {
        try await Self.withWeb { web in
            let id = try #require(web.sessions["sa"])
            let audit = try #require(web.service.audit)
            try await audit.record(
                session: id, kind: "exec", actor: AuditActor(user: "alice", token: "web:abc"),
                fields: ["argv": .list([.string("make"), .string("test")]), "exit": .int(0)])
            let (status, _, page) = try await web.get("/sessions/\(id)/audit", as: "alice")
            #expect(status == .ok)
            #expect(page.contains("verifies") && page.contains("<code>exec</code>") && page.contains("alice"))
            let (exported, headers, lines) = try await web.get("/sessions/\(id)/audit.jsonl", as: "alice")
            #expect(exported == .ok && headers[.contentType] == "application/x-ndjson")
            #expect(lines.split(separator: "\n").count == 1 && lines.contains("\"exec\""))
            #expect(try await web.get("/sessions/\(id)/audit", as: "bob").0 == .notFound)
            #expect(try await web.get("/sessions/\(id)/audit.jsonl", as: "bob").0 == .notFound)
        }
    }

    /// The emergency stop from the org page: admins only, confirmed, shown on every page of the teams it covers
    /// while in force, and lifted from the same page.
    @Test func anAdminStopsATeamFromTheOrgPageAndEveryPageSaysSo() async throws {
        try await Self.withWeb { web in
            #expect(try await web.get("/org", as: "alice").0 == .forbidden)
            let (status, _, org) = try await web.get("/org", as: "ada")
            #expect(status == .ok && org.contains("No stop is in force"))
            #expect(try await web.post("/org/stop", as: "ada", form: "_csrf=csrf-ada&team=a") == .badRequest)
            #expect(
                try await web.post("/org/stop", as: "alice", form: "_csrf=csrf-alice&team=a&confirm=yes") == .forbidden)
            #expect(try await web.post("/org/stop", as: "ada", form: "_csrf=csrf-ada&team=a&confirm=yes") == .found)
            #expect(try await web.get("/sessions", as: "alice").2.contains("Emergency stop in force for team a"))
            #expect(!(try await web.get("/sessions", as: "bob").2.contains("Emergency stop")), "team b is not stopped")
            #expect(try await web.post("/org/lift", as: "ada", form: "_csrf=csrf-ada&team=a") == .found)
            #expect(!(try await web.get("/sessions", as: "alice").2.contains("Emergency stop")))
        }
    }

    /// Enumerated from the router, so a page added later is held to it too: every page but the sign-in ones
    /// sends a browser without a session to sign in, and every form refuses a post without the person's token.
    @Test func everyPageNeedsASignInAndEveryFormItsToken() async throws {
        try await Self.withWeb { web in
            let open: Set<String> = [
                "GET /signin", "POST /signin", "GET /invite/{secret}", "POST /invite/{secret}", "GET /assets/{file}",
                "GET /favicon.ico", "POST /signout",
            ]
            // The MCP door and its metadata share the listener but are not pages: they are checked below.
            let doors = web.routes.filter { $0.contains(" /mcp") || $0.contains(" /.well-known/") }
            #expect(doors.count == 5, "\(doors)")
            let pages = web.routes.filter { !open.contains($0) && !$0.contains(" /auth/") && !doors.contains($0) }
            #expect(pages.count >= 20, "\(web.routes)")
            let session = try #require(web.sessions["sa"]).rawValue
            for route in pages {
                let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
                let path = parts[1].split(separator: "/").map {
                    $0 == ":id" ? session : $0.hasPrefix(":") ? "x" : String($0)
                }
                .joined(separator: "/")
                let uri = "/" + path
                if parts[0] == "GET" {
                    let (status, headers, _) = try await web.get(uri, as: nil)
                    #expect(status == .seeOther || status == .found, "\(route)")
                    #expect(headers[.location]?.hasPrefix("/signin?next=") == true, "\(route)")
                } else {
                    let anonymous = try await web.client.execute(uri: uri, method: .post) { $0.status }
                    #expect(anonymous == .unauthorized, "\(route)")
                    #expect(try await web.post(uri, as: "alice", form: "") == .forbidden, "\(route)")
                    #expect(try await web.post(uri, as: "alice", form: "_csrf=csrf-bob") == .forbidden, "\(route)")
                }
            }
            // The MCP door takes only a bearer token: a person's browser session is no credential there, so no
            // other site can drive it through their browser. Its metadata is public, as RFC 9728 wants.
            for method in [HTTPRequest.Method.get, .post, .delete] {
                let (anonymous, challenge) = try await web.client.execute(uri: "/mcp", method: method) {
                    ($0.status, $0.headers[.wwwAuthenticate])
                }
                #expect(anonymous == .unauthorized && challenge?.contains("resource_metadata=") == true, "\(method)")
            }
            #expect(try await web.post("/mcp", as: "alice", form: "_csrf=csrf-alice") == .unauthorized)
            #expect(try await web.get("/.well-known/oauth-protected-resource", as: nil).0 == .ok)
            // Signing out takes the token too; without a session it only leads to sign-in.
            #expect(try await web.post("/signout", as: "alice", form: "") == .forbidden)
            #expect(try await web.client.execute(uri: "/signout", method: .post) { $0.status } == .found)
        }
    }

    @Test func aFormWithoutTheCSRFTokenIsRefused() async throws {
        try await Self.withWeb { web in
            let id = try #require(web.sessions["sa"])
            #expect(try await web.post("/sessions/\(id)/stop", as: "alice", form: "") == .forbidden)
            #expect(try await web.post("/sessions/\(id)/stop", as: "alice", form: "_csrf=csrf-bob") == .forbidden)
            #expect(try await web.post("/sessions/\(id)/stop", as: "alice", form: "_csrf=csrf-alice") == .found)
        }
    }

    /// `{{{x}}}` and `{{& x}}` would put a value on the page unescaped; no template may use them.
    @Test func noTemplateRendersAValueUnescaped() throws {
        let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/PaddockWeb/Resources/Templates")
        let files = try FileManager.default.contentsOfDirectory(atPath: templates.path).filter {
            $0.hasSuffix(".mustache")
        }
        #expect(files.count >= 5)
        for file in files {
            let text = try String(contentsOf: templates.appendingPathComponent(file), encoding: .utf8)
            #expect(!text.contains("{{{") && !text.contains("{{&"), "\(file) renders a value unescaped")
        }
    }
}
