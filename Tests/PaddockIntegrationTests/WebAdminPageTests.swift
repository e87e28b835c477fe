import Foundation
import HTTPTypes
import PaddockCore
import PaddockServices
import PaddockStore
import Testing

/// The team admin pages through the production router: an admin sees and changes a team's members, invites,
/// tokens, projects, secrets and budget, and asks the effective policy about a command or a host; a member is
/// refused, another team's pages do not exist for them, a secret's value never reaches a page, forms need the
/// CSRF token, and what people type is shown as text.
struct WebAdminPageTests {
    static func with(_ body: @Sendable (WebTestStack) async throws -> Void) async throws {
        try await WebTestStack.with(services: true, body)
    }

    /// Form encoding of `pairs`, with the person's CSRF token first.
    static func form(_ user: String, _ pairs: [(String, String)] = []) -> String {
        ([("_csrf", "csrf-\(user)")] + pairs).map { key, value in
            let allowed = CharacterSet.alphanumerics.union(.init(charactersIn: "-_.~"))
            return key + "=" + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
        }.joined(separator: "&")
    }

    static let sections = ["", "/invites", "/tokens", "/projects", "/secrets", "/budget", "/policy"]

    @Test func anAdminOpensTheTeamAdminPagesFromTheirTab() async throws {
        try await Self.with { web in
            let (status, headers, _) = try await web.get("/admin", as: "ada")
            #expect(status == .found && headers[.location] == "/admin/a")
            #expect(try await web.get("/admin?team=b", as: "ada").1[.location] == "/admin/b")
            for section in Self.sections {
                let (status, _, page) = try await web.get("/admin/a\(section)", as: "ada")
                #expect(status == .ok, "section \(section)")
                #expect(page.contains(#"href="/admin" aria-current="page""#), "the Team admin tab is open")
                #expect(page.contains(#"<label for="switch-team">"#), "ada administers both teams: a switcher")
            }
            #expect(!(try await web.get("/sessions", as: "alice").2.contains(#"href="/admin""#)))
        }
    }

    @Test func aMemberIsRefusedAndAnotherTeamsPagesDoNotExistForThem() async throws {
        try await Self.with { web in
            #expect(try await web.get("/admin", as: "alice").0 == .forbidden)
            for section in Self.sections {
                #expect(try await web.get("/admin/a\(section)", as: "alice").0 == .forbidden, "own team \(section)")
                let (status, _, page) = try await web.get("/admin/b\(section)", as: "alice")
                #expect(status == .notFound, "other team \(section)")
                #expect(!page.contains("bob"))
            }
            #expect(try await web.get("/admin/nosuch", as: "ada").0 == .notFound)
            let secret = Self.form("alice", [("name", "X_KEY"), ("hosts", "example.com"), ("value", "v-123456")])
            #expect(try await web.post("/admin/a/secrets", as: "alice", form: secret) == .forbidden)
            #expect(try await web.post("/admin/b/secrets", as: "alice", form: secret) == .notFound)
            #expect(
                try await web.post("/admin/a/budget", as: "alice", form: Self.form("alice", [("monthly", "1")]))
                    == .forbidden)
            let role = Self.form("alice", [("action", "role"), ("user", "alice"), ("role", "admin")])
            #expect(try await web.post("/admin/a/members", as: "alice", form: role) == .forbidden)
            #expect(try await web.store.user("alice")?.role == .member)
        }
    }

    @Test func anAdminChangesRolesAndMembers() async throws {
        try await Self.with { web in
            let page = try await web.get("/admin/a", as: "ada").2
            #expect(page.contains(#"<label class="sr" for="role-alice">Role of alice</label>"#))
            #expect(page.contains(#"<option value="bob">bob</option>"#), "bob, not in team a, can be added")
            let role = Self.form("ada", [("action", "role"), ("user", "alice"), ("role", "viewer")])
            let (status, location, _) = try await web.submit("/admin/a/members", as: "ada", form: role)
            #expect(status == .found && location == "/admin/a?done=role")
            #expect(try await web.store.user("alice")?.role == .viewer)
            #expect(try await web.get("/admin/a?done=role", as: "ada").2.contains("The role was changed."))
            let add = Self.form("ada", [("action", "add"), ("user", "bob")])
            #expect(try await web.post("/admin/a/members", as: "ada", form: add) == .found)
            #expect(try await web.store.team("a")?.members.sorted() == ["alice", "bob"])
            let remove = Self.form("ada", [("action", "remove"), ("user", "alice")])
            #expect(try await web.post("/admin/a/members", as: "ada", form: remove) == .found)
            #expect(try await web.store.team("a")?.members == ["bob"])
            let trail = try await web.service.audit?.events(session: .organization) ?? []
            #expect(trail.contains { $0.kind == "user.role" && $0.actor.user == "ada" })
            #expect(trail.contains { $0.kind == "team.member.remove" && $0.actor.user == "ada" })
        }
    }

    @Test func anInviteLinkIsShownOnceAndCanBeRevoked() async throws {
        try await Self.with { web in
            #expect(try await web.get("/admin/a/invites", as: "ada").2.contains("No invite to this team"))
            let (status, _, made) = try await web.submit(
                "/admin/a/invites", as: "ada",
                form: Self.form("ada", [("role", "member"), ("email", "sam@example.com")]))
            #expect(status == .ok)
            let link = try #require(made.firstMatch(of: /\/invite\/pdi_[0-9a-f]+/)).output
            let list = try await web.get("/admin/a/invites", as: "ada").2
            #expect(list.contains("sam@example.com") && !list.contains(String(link)), "the link is shown once")
            #expect(!(try await web.get("/admin/b/invites", as: "ada").2.contains("sam@example.com")))
            let id = try #require(list.firstMatch(of: /invites\/([0-9a-f]+)\/revoke/)).output.1
            #expect(try await web.post("/admin/b/invites/\(id)/revoke", as: "ada", form: Self.form("ada")) == .notFound)
            #expect(try await web.post("/admin/a/invites/\(id)/revoke", as: "ada", form: Self.form("ada")) == .found)
            #expect(try await web.get("/admin/a/invites", as: "ada").2.contains("No invite to this team"))
        }
    }

    @Test func aTokenIsShownOnceListedWithoutItsSecretAndRevoked() async throws {
        try await Self.with { web in
            let before = try await web.get("/admin/a/tokens", as: "ada").2
            #expect(before.contains("alice") && !before.contains(web.tokens["alice"] ?? "-"))
            #expect(!before.contains(">bob<"), "bob is in team b")
            let (status, _, made) = try await web.submit(
                "/admin/a/tokens", as: "ada",
                form: Self.form("ada", [("user", "alice"), ("name", "ci-bot"), ("scope", "read"), ("expires", "30d")]))
            #expect(status == .ok)
            let secret = String(try #require(made.firstMatch(of: /pdk_[0-9a-f]{64}/)).output)
            let list = try await web.get("/admin/a/tokens", as: "ada").2
            #expect(list.contains("ci-bot") && !list.contains(secret))
            let mine = Self.form("ada", [("user", "ada")])
            #expect(try await web.post("/admin/a/tokens", as: "ada", form: mine) == .badRequest, "ada is not in team a")
            let row = try #require(
                list.firstMatch(of: /tokens\/([0-9a-f]+)\/revoke" class="inline">\s*<input[^>]*>\s*<button[^>]*ci-bot/))
            let id = String(row.output.1)
            #expect(try await web.post("/admin/b/tokens/\(id)/revoke", as: "ada", form: Self.form("ada")) == .notFound)
            #expect(try await web.post("/admin/a/tokens/\(id)/revoke", as: "ada", form: Self.form("ada")) == .found)
            #expect(!(try await web.get("/admin/a/tokens", as: "ada").2.contains(">ci-bot<")))
            #expect(try await TokenService(store: web.store).authenticate(secret) == nil)
        }
    }

    @Test func projectsAreAddedShownEditedAtTheirRevisionAndRemoved() async throws {
        try await Self.with { web in
            let fields: [(String, String)] = [
                ("name", "web-app"), ("description", "<b>the shop</b>"), ("repository", "/srv/git/web.git"),
                ("branch", "main"), ("template", ""), ("agent", ""), ("model", ""), ("teams", "a"), ("secrets", ""),
                ("instructions", "Run <script>alert(1)</script> never"), ("policy", ""),
            ]
            let (status, location, _) = try await web.submit(
                "/admin/a/projects", as: "ada", form: Self.form("ada", fields))
            #expect(status == .found && location == "/admin/a/projects/web-app?done=project-added")
            let page = try await web.get("/admin/a/projects/web-app", as: "ada").2
            #expect(
                page.contains("&lt;b&gt;the shop&lt;/b&gt;") && page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!page.contains("<script>alert") && !page.contains("<b>the shop"))
            #expect(page.contains("/srv/git/web.git") && page.contains("revision 1"))
            #expect(try await web.get("/admin/b/projects/web-app", as: "ada").0 == .notFound, "not open to team b")
            #expect(try await web.get("/admin/a/projects", as: "ada").2.contains(#"href="/admin/a/projects/web-app""#))
            var edited = fields
            edited[1] = ("description", "the shop, v2")
            let stale = try await web.post(
                "/admin/a/projects/web-app", as: "ada", form: Self.form("ada", edited + [("revision", "7")]))
            #expect(stale == .conflict, "someone changed it since the form was drawn")
            let saved = try await web.post(
                "/admin/a/projects/web-app", as: "ada", form: Self.form("ada", edited + [("revision", "1")]))
            #expect(saved == .found)
            #expect(try await web.get("/admin/a/projects/web-app", as: "ada").2.contains("revision 2"))
            #expect(
                try await web.post("/admin/a/projects/web-app/remove", as: "ada", form: Self.form("ada")) == .badRequest
            )
            let gone = try await web.post(
                "/admin/a/projects/web-app/remove", as: "ada", form: Self.form("ada", [("confirm", "yes")]))
            #expect(gone == .found)
            #expect(try await web.get("/admin/a/projects/web-app", as: "ada").0 == .notFound)
        }
    }

    @Test func aSecretsValueNeverReachesAPage() async throws {
        try await Self.with { web in
            let value = "sk-live-5b1c9f0e2d7a4c38"
            let (status, location, answer) = try await web.submit(
                "/admin/a/secrets", as: "ada",
                form: Self.form(
                    "ada", [("name", "STRIPE_KEY"), ("hosts", "api.stripe.com, *.stripe.com"), ("value", value)]))
            #expect(status == .found && location == "/admin/a/secrets?done=secret-set")
            #expect(!answer.contains(value))
            let list = try await web.get("/admin/a/secrets?done=secret-set", as: "ada").2
            #expect(list.contains("STRIPE_KEY") && list.contains("api.stripe.com, *.stripe.com"))
            #expect(!(try await web.get("/admin/b/secrets", as: "ada").2.contains("STRIPE_KEY")), "team a's own")
            for section in Self.sections {
                for team in ["a", "b"] {
                    #expect(!(try await web.get("/admin/\(team)\(section)", as: "ada").2.contains(value)))
                }
            }
            #expect(!(try await web.get("/org", as: "ada").2.contains(value)))
            let remove = try await web.post("/admin/a/secrets/STRIPE_KEY/remove", as: "ada", form: Self.form("ada"))
            #expect(remove == .found)
            #expect(!(try await web.get("/admin/a/secrets", as: "ada").2.contains("STRIPE_KEY")))
        }
    }

    @Test func theBudgetShowsThisMonthsSpendingAndIsSet() async throws {
        try await Self.with { web in
            let before = try await web.get("/admin/a/budget", as: "ada").2
            #expect(before.contains("$0.00 spent of no limit"))
            let set = try await web.post("/admin/a/budget", as: "ada", form: Self.form("ada", [("monthly", "25")]))
            #expect(set == .found)
            #expect(try await web.runs?.budget(team: "a") == 25)
            let after = try await web.get("/admin/a/budget", as: "ada").2
            #expect(after.contains("$0.00 spent of $25.00") && after.contains("$25.00 left"))
            #expect(
                try await web.post("/admin/a/budget", as: "ada", form: Self.form("ada", [("monthly", "lots")]))
                    == .badRequest)
            let clear = try await web.post("/admin/a/budget", as: "ada", form: Self.form("ada", [("action", "clear")]))
            #expect(clear == .found)
            #expect(try await web.runs?.budget(team: "a") == nil)
        }
    }

    @Test func theExplainBoxGivesTheDecisionAndTheRule() async throws {
        try await Self.with { web in
            let policy = """
                version: 1
                guardrails:
                  commands: {default: allow, deny: [rm]}
                  network: {default: deny, allow: ["api.github.com:443"]}
                """
            _ = try await ProjectService(sessions: web.service).add(
                ProjectSpec(name: "guarded", repository: "/srv/git/web.git", policy: policy, teams: ["a"]),
                by: Caller(try #require(try await TokenService(store: web.store).authenticate(web.tokens["ada"] ?? "")))
            )
            let base = "/admin/a/policy?project=guarded"
            let shown = try await web.get(base, as: "ada").2
            #expect(shown.contains("commands: deny rm") || shown.contains("deny") && shown.contains("rm"))
            let allowed = try await web.get(base + "&command=git+status", as: "ada").2
            #expect(allowed.contains("<strong>Allowed.</strong>"))
            let refused = try await web.get(base + "&command=rm+-rf+%2Fworkspace", as: "ada").2
            #expect(refused.contains("<strong>Refused.</strong>") && refused.contains("the rule &#39;rm&#39;"))
            let host = try await web.get(base + "&host=api.github.com%3A443", as: "ada").2
            #expect(host.contains("<strong>Allowed.</strong>") && host.contains("api.github.com:443"))
            let closed = try await web.get(base + "&host=evil.example.com%3A443", as: "ada").2
            #expect(closed.contains("<strong>Refused.</strong>") && closed.contains("default"))
            let markup = try await web.get(base + "&command=%3Cscript%3Ex%3C%2Fscript%3E", as: "ada").2
            #expect(!markup.contains("<script>x"))
        }
    }

    @Test func formsWithoutTheCSRFTokenAreRefused() async throws {
        try await Self.with { (web: WebTestStack) async throws in
            let posts: [(String, String)] = [
                ("/admin/a/members", "action=role&user=alice&role=admin"),
                ("/admin/a/invites", "role=admin"), ("/admin/a/tokens", "user=alice"),
                ("/admin/a/projects", "name=x&repository=/srv/x.git"),
                ("/admin/a/secrets", "name=K&hosts=example.com&value=v-1234567"), ("/admin/a/budget", "monthly=1"),
            ]
            for (path, form) in posts {
                #expect(try await web.post(path, as: "ada", form: form) == .forbidden, "\(path) without a token")
                #expect(try await web.post(path, as: "ada", form: "_csrf=csrf-alice&" + form) == .forbidden)
            }
            #expect(try await web.store.user("alice")?.role == .member)
            #expect(try await web.runs?.budget(team: "a") == nil)
        }
    }

    /// With `PADDOCK_WEB_PAGES_DIR` set, saves each admin page filled with a little of everything (and the style
    /// sheet) as files there, for looking at them in a browser at desktop and phone widths.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PADDOCK_WEB_PAGES_DIR"] != nil))
    func savesThePagesForLookingAtThem() async throws {
        let dir = try #require(ProcessInfo.processInfo.environment["PADDOCK_WEB_PAGES_DIR"])
        try await Self.with { web in
            let policy =
                "version: 1\nguardrails:\n  commands: {default: allow, deny: [rm, sudo], ask: [\"git push*\"]}\n"
                + "  network: {default: deny, allow: [\"api.github.com:443\", pypi.org]}\n"
            let ada = Caller(
                try #require(try await TokenService(store: web.store).authenticate(web.tokens["ada"] ?? "")))
            _ = try await ProjectService(sessions: web.service).add(
                ProjectSpec(
                    name: "web-app", description: "The shop's storefront", repository: "git@github.com:acme/web.git",
                    policy: policy, instructions: "Run `make test` before you finish.\nNever touch migrations/.",
                    teams: ["a", "b"]), by: ada)
            _ = try await web.submit(
                "/admin/a/secrets", as: "ada",
                form: Self.form(
                    "ada", [("name", "STRIPE_API_KEY"), ("hosts", "api.stripe.com"), ("value", "sk-1234567")]))
            _ = try await web.submit(
                "/admin/a/invites", as: "ada",
                form: Self.form("ada", [("role", "member"), ("email", "sam@example.com")]))
            _ = try await web.post("/admin/a/budget", as: "ada", form: Self.form("ada", [("monthly", "40")]))
            var pages: [(String, String)] = [
                ("members", "/admin/a"), ("tokens", "/admin/a/tokens"), ("projects", "/admin/a/projects"),
                ("project", "/admin/a/projects/web-app"), ("secrets", "/admin/a/secrets"),
                ("budget", "/admin/a/budget"),
                ("policy", "/admin/a/policy?project=web-app&command=rm+-rf+%2F"),
            ]
            pages.append(("invites", "/admin/a/invites"))
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (name, path) in pages {
                let html = try await web.get(path, as: "ada").2
                    .replacingOccurrences(of: "href=\"/assets/paddock.css\"", with: "href=\"paddock.css\"")
                try html.write(toFile: dir + "/\(name).html", atomically: true, encoding: .utf8)
            }
            let made = try await web.submit(
                "/admin/a/tokens", as: "ada", form: Self.form("ada", [("user", "alice"), ("name", "ci-bot")])
            ).2
            try made.replacingOccurrences(of: "href=\"/assets/paddock.css\"", with: "href=\"paddock.css\"")
                .write(toFile: dir + "/token-made.html", atomically: true, encoding: .utf8)
            try await web.get("/assets/paddock.css", as: "ada").2.write(
                toFile: dir + "/paddock.css", atomically: true, encoding: .utf8)
        }
    }
}
