import Crypto
import Foundation
import NIOSSL
import PaddockConfig
import PaddockCore
import PaddockTestSupport
import Testing

@testable import PaddockServer
@testable import PaddockServices

/// A preview listener on loopback port 0 over a real stack; browsers would resolve `*.preview.localhost`, this
/// test names the host in the Host header.
struct PreviewHarness {
    let stack: TestStack
    let previews: PreviewService
    let port: Int
    let admin: String

    static func with(
        _ stack: TestStack, tls: TLSConfiguration? = nil, timeouts: ConnectionTimeouts = ConnectionTimeouts(),
        _ body: (PreviewHarness) async throws -> Void
    ) async throws {
        let previews = try PreviewService(
            sessions: stack.sessions, store: stack.store, key: SymmetricKey(size: .bits256),
            address: PreviewAddress(scheme: tls == nil ? "http" : "https"),
            logger: TestHost.quietLogger("test.previews"))
        // As `paddock server` does: commands in sessions get the key that checks `X-Paddock-Viewer`.
        await stack.sessions.setSessionEnvironment([PreviewService.viewerKeyEnvironmentName: previews.viewerPublicKey])
        let (ports, sink) = AsyncStream<Int>.makeStream()
        let proxy = PreviewProxy(
            previews: previews, tokens: stack.tokens,
            configuration: {
                var c = PreviewServerConfiguration(
                    host: "127.0.0.1", port: 0, tls: tls, signInBaseURL: "http://ui.test")
                c.timeouts = timeouts
                return c
            }(),
            logger: TestHost.quietLogger("test.previews"),
            onServerRunning: { port in
                previews.setPort(port)
                sink.yield(port)
            })
        let admin = try await stack.tokens.issue(name: "preview-test")
        try await withRunning(proxy) {
            var bound = ports.makeAsyncIterator()
            guard let port = await bound.next() else {
                throw PaddockError.internal("the preview listener did not start")
            }
            try await body(PreviewHarness(stack: stack, previews: previews, port: port, admin: admin))
        }
    }

    func host(_ id: SessionID, _ port: UInt16) -> String {
        previews.address.host(session: id, port: port) + ":\(self.port)"
    }

    /// The path and query of a URL the service made.
    static func target(of url: String) -> String {
        guard let components = URLComponents(string: url) else { return url }
        return components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    /// The `name=value` of a Set-Cookie header.
    static func cookiePair(_ setCookie: String?) -> String {
        String(setCookie?.split(separator: ";").first ?? "")
    }

    func audit(_ id: SessionID) async throws -> [String] {
        try await stack.sessions.audit?.events(session: id).map(\.kind) ?? []
    }
}

/// Previews with real sandboxes: a small app (python3) in a session, reached by Host header through the
/// preview listener and paddock-init's port relay.
@Suite(.needsSandboxes, .serialized)
struct PreviewSandboxTests {
    /// The README's recipe for an app checking `X-Paddock-Viewer` (Python's `cryptography`, from Debian).
    static let viewerCheck = """
        import base64, os, sys
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        def unb64(text): return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        header, session, port = sys.argv[1:4]
        fields, signature = header.rsplit("; sig=", 1)
        key = Ed25519PublicKey.from_public_bytes(unb64(os.environ["PADDOCK_PREVIEW_VIEWER_KEY"]))
        key.verify(unb64(signature), f"{session} {port} {fields}".encode())
        print("verified")
        """

    @Test func privateAccessNeedsACredentialAndTheAppSeesNoneOfPaddocks() async throws {
        try await withTestStack("preview-private") { stack in
            try await PreviewHarness.with(stack) { h in
                let s = try await stack.sessions.create(SessionSpec())
                try await PreviewAppFixture.start(in: s.id, port: 8000, sessions: stack.sessions)
                let host = h.host(s.id, 8000)

                let anonymous = try await PreviewClient.request(port: h.port, host: host)
                #expect(anonymous.status == 401)
                let browser = try await PreviewClient.request(
                    port: h.port, host: host, "GET", "/some/page", headers: ["Accept": "text/html"])
                #expect(browser.status == 303)
                #expect(browser.header("Location")?.hasPrefix("http://ui.test/previews/authorize?session=") == true)

                let seen = try await PreviewClient.request(
                    port: h.port, host: host, "GET", "/hello?x=1",
                    headers: [
                        "Authorization": "Bearer \(h.admin)", "Cookie": "paddock_session=pds_secret; theirs=kept",
                        "X-Paddock-Viewer": "forged",
                    ])
                #expect(seen.status == 200)
                let json = try seen.json()
                #expect(json["path"] as? String == "/hello?x=1")
                let headers = json["headers"] as? [String: String] ?? [:]
                #expect(headers["authorization"] == nil)
                #expect(headers["cookie"] == "theirs=kept")
                #expect(headers["x-forwarded-host"] == host)
                #expect(headers["x-forwarded-proto"] == "http")
                #expect(headers["x-forwarded-for"] == "127.0.0.1")
                #expect(headers["x-paddock-viewer"]?.hasPrefix("user=\(UserAccount.ownerName); share=-;") == true)
                #expect(headers["x-paddock-viewer"]?.contains("forged") == false)
                // The app can trust it: the public key it was given checks the signature, and nothing else passes.
                let viewer = headers["x-paddock-viewer"] ?? ""
                let checked = try await stack.sessions.run(
                    s.id, ["python3", "-c", Self.viewerCheck, viewer, s.id.rawValue, "8000"])
                #expect(checked.stdout == "verified\n", "\(checked.stderr)")
                let tampered = viewer.replacingOccurrences(of: "user=", with: "user=x")
                let refused = try await stack.sessions.run(
                    s.id, ["python3", "-c", Self.viewerCheck, tampered, s.id.rawValue, "8000"])
                #expect(refused.status.code != 0 && refused.stderr.contains("InvalidSignature"))
                let otherPort = try await stack.sessions.run(
                    s.id, ["python3", "-c", Self.viewerCheck, viewer, s.id.rawValue, "8001"])
                #expect(otherPort.status.code != 0)
                #expect(seen.header("Set-Cookie") == "app=1; Path=/", "the app's cookie stays on its own host")
                #expect(try await h.audit(s.id).contains("preview.visit"))

                // No listener: a page naming the ports that listen.
                let closed = try await PreviewClient.request(
                    port: h.port, host: h.host(s.id, 8001), headers: ["Authorization": "Bearer \(h.admin)"])
                #expect(closed.status == 502)
                #expect(closed.text.contains("not running on port 8001"))
                #expect(closed.text.contains("8000"))
            }
        }
    }

    @Test func initHandsThePortsConnectionOverInsteadOfRelayingIt() async throws {
        try await withTestStack("preview-handoff") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            try await PreviewAppFixture.start(in: s.id, port: 8000, sessions: stack.sessions)
            let connection = try await stack.sessions.dial(s.id, port: 8000, by: .system)
            #expect("\(type(of: connection))" == "SocketSandboxConnection", "init relayed the connection")
            try await connection.write(Array("GET /direct HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n".utf8))
            var answer: [UInt8] = []
            for try await chunk in connection.inbound { answer += chunk }
            await connection.close()
            let text = String(decoding: answer, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 200") && text.contains("/direct"), "\(text)")

            let closed = await #expect(throws: PaddockError.self) {
                _ = try await stack.sessions.dial(s.id, port: 8001, by: .system)
            }
            #expect(closed?.code == .notFound)
        }
    }

    @Test func aShareLinkWorksAcrossRefreshesAndAWebSocketUntilRevoked() async throws {
        try await withTestStack("preview-share") { stack in
            try await PreviewHarness.with(stack) { h in
                await h.previews.setMaxAudience(.public)
                let s = try await stack.sessions.create(SessionSpec())
                let other = try await stack.sessions.create(SessionSpec())
                try await PreviewAppFixture.start(in: s.id, port: 8000, sessions: stack.sessions)
                let host = h.host(s.id, 8000)
                let issued = try await h.previews.share(s.id, port: 8000, ttl: 3600, audience: .public, by: .system)
                let link = PreviewHarness.target(of: issued.url)
                #expect(link.contains("paddock_share=pvs_"))

                let first = try await PreviewClient.request(port: h.port, host: host, "GET", link)
                #expect(first.status == 303)
                #expect(first.header("Location") == "/")
                let cookie = PreviewHarness.cookiePair(first.header("Set-Cookie"))
                #expect(cookie.hasPrefix("paddock_preview="))
                #expect(first.header("Set-Cookie")?.contains("Domain") == false, "host-only")

                try await PreviewClient.with(port: h.port) { client in
                    // A refresh and an asset on one kept-alive connection.
                    for path in ["/", "/asset.js"] {
                        let answer = try await client.request(host: host, "GET", path, headers: ["Cookie": cookie])
                        #expect(answer.status == 200)
                        let json = try answer.json()
                        #expect(json["path"] as? String == path)
                        let headers = json["headers"] as? [String: String] ?? [:]
                        #expect(headers["cookie"] == nil, "the app never sees the grant")
                        #expect(headers["x-paddock-viewer"]?.contains("share=\(issued.share.id)") == true)
                    }
                    let sse = try await client.request(host: host, "GET", "/sse", headers: ["Cookie": cookie])
                    #expect(sse.text == "data: 0\n\ndata: 1\n\ndata: 2\n\n")
                    let body = Array(repeating: UInt8(ascii: "x"), count: 300_000)
                    let posted = try await client.request(
                        host: host, "POST", "/upload", headers: ["Cookie": cookie], body: body)
                    #expect(try posted.json()["received"] as? Int == body.count)
                }
                // The cookie opens nothing on another session's host.
                let elsewhere = try await PreviewClient.request(
                    port: h.port, host: h.host(other.id, 8000), headers: ["Cookie": cookie])
                #expect(elsewhere.status == 401)

                try await PreviewClient.with(port: h.port) { ws in
                    let upgraded = try await ws.upgrade(host: host, headers: ["Cookie": cookie])
                    #expect(upgraded.status == 101)
                    #expect(try await ws.echo("hello") == "hello")
                    _ = try await h.previews.revoke(issued.share.id, by: .system)
                    #expect(await ws.closed(), "revoking cuts the open WebSocket")
                }
                let after = try await PreviewClient.request(port: h.port, host: host, headers: ["Cookie": cookie])
                #expect(after.status == 401)
                let again = try await PreviewClient.request(port: h.port, host: host, "GET", link)
                #expect(again.status == 403)
                let kinds = try await h.audit(s.id)
                #expect(
                    kinds.contains("preview.share") && kinds.contains("preview.visit")
                        && kinds.contains("preview.revoke"))
            }
        }
    }

    @Test func aPausedSessionWakesAndADestroyedOneSaysItEnded() async throws {
        try await withTestStack("preview-wake") { stack in
            try await PreviewHarness.with(stack) { h in
                let s = try await stack.sessions.create(SessionSpec())
                try await PreviewAppFixture.start(in: s.id, port: 8000, sessions: stack.sessions)
                let host = h.host(s.id, 8000)
                try await stack.sessions.pause(s.id)
                let woke = try await PreviewClient.request(
                    port: h.port, host: host, headers: ["Authorization": "Bearer \(h.admin)"])
                #expect(woke.status == 200)
                #expect(try await stack.sessions.get(s.id).state == .running)

                try await stack.sessions.destroy(s.id)
                let ended = try await PreviewClient.request(
                    port: h.port, host: host, headers: ["Authorization": "Bearer \(h.admin)"])
                #expect(ended.status == 410)
                #expect(ended.text.contains("This preview has ended"))
            }
        }
    }

    @Test func aDestroyedSessionWhosePolicyAsksForItRestartsFromItsLastSnapshot() async throws {
        try await withTestStack("preview-restart") { stack in
            try await PreviewHarness.with(stack) { h in
                let policy = PolicyText(
                    text: "version: 1\npreviews: {max_audience: public, restart: true, "
                        + "start: python3 /workspace/app.py 8000}\n", file: "runtime.yml")
                let s = try await stack.sessions.create(SessionSpec(), policy: policy, by: .system)
                // The app and a file it made live in /workspace, which the snapshot taken at the destroy keeps.
                let written = try await stack.sessions.run(
                    s.id,
                    [
                        "python3", "-c",
                        "import sys; open('/workspace/app.py','w').write(sys.argv[1]); "
                            + "open('/workspace/made-before','w').write('kept')",
                        PreviewAppFixture.script,
                    ])
                #expect(written.status.code == 0, "\(written.stderr)")
                try await PreviewAppFixture.start(in: s.id, port: 8000, sessions: stack.sessions)
                let host = h.host(s.id, 8000)
                let issued = try await h.previews.share(s.id, port: 8000, ttl: 3600, audience: .public, by: .system)
                let first = try await PreviewClient.request(
                    port: h.port, host: host, "GET", PreviewHarness.target(of: issued.url))
                let cookie = PreviewHarness.cookiePair(first.header("Set-Cookie"))
                #expect(
                    try await PreviewClient.request(port: h.port, host: host, headers: ["Cookie": cookie]).status == 200
                )

                try await stack.sessions.destroy(s.id)
                let starting = try await PreviewClient.request(
                    port: h.port, host: host, headers: ["Cookie": cookie, "Accept": "text/html"])
                #expect(starting.status == 503)
                #expect(starting.text.contains("being started again"))
                // The browser's page reloads itself until the new session's app answers at the same address.
                var answer = starting
                let deadline = ContinuousClock.now + .seconds(240)
                while answer.status != 200, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                    answer = try await PreviewClient.request(port: h.port, host: host, headers: ["Cookie": cookie])
                }
                #expect(answer.status == 200, "\(answer.text)")
                let replacement = try #require(try await stack.store.previewReplacement(of: s.id))
                #expect(replacement != s.id)
                #expect(try await stack.sessions.get(replacement).state == .running)
                let headers = try answer.json()["headers"] as? [String: String] ?? [:]
                #expect(headers["x-paddock-viewer"]?.hasPrefix("user=anonymous; share=\(issued.share.id);") == true)
                let kept = try await stack.sessions.run(replacement, ["cat", "/workspace/made-before"])
                #expect(kept.stdout == "kept")
                #expect(try await h.audit(s.id).contains("preview.restart"))
                #expect(try await h.audit(replacement).contains("preview.restart"))

                // Revoked, the link opens neither the ended session nor its replacement.
                _ = try await h.previews.revoke(issued.share.id, by: .system)
                #expect(
                    try await PreviewClient.request(port: h.port, host: host, headers: ["Cookie": cookie]).status == 401
                )
                try await stack.sessions.destroy(replacement)
            }
        }
    }

    @Test func withAWildcardCertificateThePreviewsAreHTTPS() async throws {
        try await withTestStack("preview-tls") { stack in
            try await PreviewHarness.with(stack, tls: try TLSFixture.server(names: ["*.preview.localhost"])) { h in
                await h.previews.setMaxAudience(.public)
                let s = try await stack.sessions.create(SessionSpec())
                try await PreviewAppFixture.start(in: s.id, port: 8000, sessions: stack.sessions)
                let name = h.previews.address.host(session: s.id, port: 8000)
                let issued = try await h.previews.share(s.id, port: 8000, ttl: 3600, audience: .public, by: .system)
                #expect(issued.url.hasPrefix("https://\(name):\(h.port)/"))
                try await PreviewClient.with(port: h.port, tlsHost: name) { client in
                    let first = try await client.request(
                        host: h.host(s.id, 8000), "GET", PreviewHarness.target(of: issued.url))
                    #expect(first.header("Set-Cookie")?.contains("; Secure") == true)
                    let cookie = PreviewHarness.cookiePair(first.header("Set-Cookie"))
                    let seen = try await client.request(host: h.host(s.id, 8000), headers: ["Cookie": cookie])
                    #expect(seen.status == 200)
                    let headers = try seen.json()["headers"] as? [String: String] ?? [:]
                    #expect(headers["x-forwarded-proto"] == "https")
                }
            }
        }
    }

    @Test func anIdleBrowserConnectionIsClosedButAnOpenWebSocketIsNot() async throws {
        try await withTestStack("preview-idle") { stack in
            try await PreviewHarness.with(stack, timeouts: ConnectionTimeouts(idle: .seconds(1))) { h in
                let s = try await stack.sessions.create(SessionSpec())
                try await PreviewAppFixture.start(in: s.id, port: 8000, sessions: stack.sessions)
                let auth = ["Authorization": "Bearer \(h.admin)"]
                try await PreviewClient.with(port: h.port) { idle in
                    let answer = try await idle.request(host: h.host(s.id, 8000), headers: auth)
                    #expect(answer.status == 200)
                    #expect(await idle.closed(), "a kept-alive connection with nothing to do is closed")
                }
                try await PreviewClient.with(port: h.port) { ws in
                    let upgraded = try await ws.upgrade(host: h.host(s.id, 8000), headers: auth)
                    #expect(upgraded.status == 101)
                    // Longer than the idle timeout, on the event of the session's own clock: a command's exit.
                    _ = try await stack.sessions.sh(s.id, "sleep 2")
                    let echoed = try await ws.echo("still here")
                    #expect(echoed == "still here")
                }
            }
        }
    }

    @Test func aRequestHeadThatNeverCompletesIsCutOff() async throws {
        try await withTestStack("preview-trickle") { stack in
            let timeouts = ConnectionTimeouts(firstRequest: .seconds(1), idle: .seconds(2))
            try await PreviewHarness.with(stack, timeouts: timeouts) { h in
                let s = try await stack.sessions.create(SessionSpec())
                try await PreviewClient.with(port: h.port) { slow in
                    try await slow.send(Array("GET / HTTP/1.1\r\nHost: \(h.host(s.id, 8000))\r\nX-Slow: ".utf8))
                    // A byte every 300 ms never lets the connection look idle; only the head's deadline ends it. At
                    // most 60 s of trickling: a proxy without that deadline fails the test instead of hanging it.
                    var cut = false
                    for _ in 0..<200 {
                        do { try await slow.send(Array("a".utf8)) } catch {
                            cut = true
                            break
                        }
                        try await Task.sleep(for: .milliseconds(300))
                    }
                    #expect(cut, "a request head trickled in a byte at a time is cut off")
                }
            }
        }
    }

    @Test func aSignedInMemberIsLetInThroughTheUIsExchange() async throws {
        try await withTestStack("preview-exchange") { stack in
            try await PreviewHarness.with(stack) { h in
                let s = try await stack.sessions.create(SessionSpec())
                try await PreviewAppFixture.start(in: s.id, port: 8000, sessions: stack.sessions)
                guard let principal = try await stack.tokens.authenticate(h.admin) else {
                    throw PaddockError.internal("the admin token does not authenticate")
                }
                let token = try await h.previews.exchangeToken(
                    for: principal, session: s.id, port: 8000, shareSecret: nil)
                let url = h.previews.exchangeURL(session: s.id, port: 8000, token: token, next: "/deep?q=1")
                let host = h.host(s.id, 8000)
                let exchanged = try await PreviewClient.request(
                    port: h.port, host: host, "GET", PreviewHarness.target(of: url))
                #expect(exchanged.status == 303)
                #expect(exchanged.header("Location") == "/deep?q=1")
                let cookie = PreviewHarness.cookiePair(exchanged.header("Set-Cookie"))
                let replay = try await PreviewClient.request(
                    port: h.port, host: host, "GET", PreviewHarness.target(of: url))
                #expect(replay.status == 403, "an exchange token is good once")
                let page = try await PreviewClient.request(
                    port: h.port, host: host, "GET", "/deep?q=1", headers: ["Cookie": cookie])
                #expect(page.status == 200)
                #expect(try page.json()["path"] as? String == "/deep?q=1")
            }
        }
    }
}

/// The proxy's pure parts: framing, rewriting, hosts.
struct PreviewUnitTests {
    @Test func hostsNameAPortAndASession() throws {
        let address = PreviewAddress(domain: "preview.localhost", port: 7072)
        let id = try SessionID(validating: "abc123")
        #expect(address.url(session: id, port: 3000) == "http://3000-abc123.preview.localhost:7072/")
        #expect(address.target(ofHost: "3000-abc123.preview.localhost:7072")?.port == 3000)
        #expect(address.target(ofHost: "3000-ABC123.Preview.Localhost")?.session == id)
        #expect(address.target(ofHost: "3000-abc123.evil.test") == nil)
        #expect(address.target(ofHost: "x-abc123.preview.localhost") == nil)
        #expect(address.target(ofHost: "0-abc123.preview.localhost") == nil)
    }

    @Test func chunkedBodiesEndWhereTheirLastChunkSaysSo() throws {
        var scanner = ChunkedBodyScanner()
        #expect(try scanner.consume(Array("5\r\nhel".utf8)[...]) == nil)
        let rest = Array("lo\r\n0\r\n\r\nGET / HTTP/1.1".utf8)
        #expect(try scanner.consume(rest[...]) == 9)
        var bad = ChunkedBodyScanner()
        #expect(throws: PreviewProxyError.self) { try bad.consume(Array("zz\r\n".utf8)[...]) }
    }

    @Test func smuggledLengthsAreRefused() throws {
        let both = try #require(
            PreviewHTTPHead(Array("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n".utf8)))
        #expect(both.framing() == .invalid)
        let twice = try #require(
            PreviewHTTPHead(Array("POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n".utf8)))
        #expect(twice.framing() == .invalid)
        #expect(PreviewHTTPHead(Array("GET / HTTP/1.1\r\n folded\r\n\r\n".utf8)) == nil)
    }

    @Test func paddocksCookiesAndTheShareParameterNeverReachTheApp() {
        #expect(PreviewRewrite.keptCookies("a=1; paddock_preview=x; paddock_session=y;b=2") == "a=1; b=2")
        #expect(PreviewRewrite.hostOnly("s=1; Domain=.preview.localhost; Path=/; HttpOnly") == "s=1; Path=/; HttpOnly")
        #expect(PreviewRewrite.hostOnly("paddock_preview=forged; Path=/").hasPrefix("app_paddock_preview="))
        let (clean, secret) = PreviewRewrite.removingParameter("paddock_share", from: "/a?x=1&paddock_share=pvs_1&y=2")
        #expect(clean == "/a?x=1&y=2")
        #expect(secret == "pvs_1")
        #expect(PreviewRewrite.removingParameter("paddock_share", from: "/?paddock_share=pvs_1").target == "/")
    }

    @Test func runtimeYmlCapsSharesAndLayersOnlyNarrowThem() throws {
        let team = try RuntimeConfig.parse("version: 1\npreviews: {max_audience: public, restart: true}\n")
        #expect(team.previews == PreviewConfig(maxAudience: "public", restart: true))
        let org = try RuntimeConfig.parse("version: 1\npreviews: {max_audience: team}\n")
        let both = try PolicyLayers([PolicyLayer(.team, team), PolicyLayer(.org, org)]).effective()
        #expect(both.previews?.maxAudience == "team")
        #expect(both.previews?.restart == true)
        let session = try RuntimeConfig.parse("version: 1\npreviews: {start: python3 app.py 8000}\n")
        let three = try PolicyLayers([PolicyLayer(.org, org), PolicyLayer(.team, team), PolicyLayer(.session, session)])
            .effective()
        #expect(three.previews?.start == "python3 app.py 8000")
        #expect(three.previews?.restart == true)
        #expect(throws: ConfigError.self) { try RuntimeConfig.parse("version: 1\npreviews: {start: ''}\n") }
        #expect(throws: ConfigError.self) { try RuntimeConfig.parse("version: 1\npreviews: {max_audience: world}\n") }
        #expect(throws: ConfigError.self) { try RuntimeConfig.parse("version: 1\npreviews: {ttl: 1h}\n") }
    }

    @Test func listeningPortsAreReadFromProcNetTCP() {
        let table = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1
               1: 0100007F:1F40 0100007F:A000 01 00000000:00000000 00:00000000 00000000  1000        0 2
               2: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 3
            """
        #expect(SessionService.listening(inProcNetTCP: table) == [8000, 3000])
    }
}

/// A public share link opened by an outsider in headless Chromium (`Tests/web/preview.py`): the app's page and
/// its WebSocket work, and keep working after a reload; the link's secret is gone from the address bar and the
/// grant cookie is out of the page's reach.
@Suite(.needsSandboxes, .serialized)
struct PreviewBrowserTests {
    @Test func aShareLinkWorksInABrowserAcrossAReloadWithAWebSocket() async throws {
        try WebStoryTests.requireBrowser()
        try await withTestStack("preview-browser") { stack in
            try await PreviewHarness.with(stack) { h in
                await h.previews.setMaxAudience(.public)
                let s = try await stack.sessions.create(SessionSpec())
                try await PreviewAppFixture.start(in: s.id, port: 8000, sessions: stack.sessions)
                let issued = try await h.previews.share(s.id, port: 8000, ttl: 3600, audience: .public, by: .system)
                let link = issued.url.replacingOccurrences(of: "/?paddock_share=", with: "/page?paddock_share=")
                let seen = try await Self.browse(["--link", link])
                let clean = h.previews.address.url(session: s.id, port: 8000, path: "/page")
                #expect(seen["url"] as? String == clean, "\(seen)")
                #expect(seen["url_after_reload"] as? String == clean, "\(seen)")
                #expect(seen["after_reload"] as? String == "echo:ping", "\(seen)")
                #expect(
                    seen["script_cookies"] as? String == "app=1" || seen["script_cookies"] as? String == "", "\(seen)")
            }
        }
    }

    /// Runs `Tests/web/preview.py` the way WebStoryTests runs its story.
    static func browse(_ arguments: [String]) async throws -> [String: Any] {
        try await WebStoryTests.browse(arguments, script: "preview.py")
    }
}
