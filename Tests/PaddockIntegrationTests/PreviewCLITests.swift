import Foundation
import PaddockAPI
import PaddockCore
import PaddockTestSupport
import Testing

/// `paddock preview` against a real `paddock server` with its preview listener on a free port: the private URL
/// of the port an app listens on, a share link that an outsider opens, the list and the revoke.
@Suite(.needsSandboxes, .serialized)
struct PreviewCLITests {
    typealias CLI = CLITests.CLI

    @Test func previewShareListRevokeFromTheCLI() async throws {
        let server = try await CLITests.ServerProcess(extraArguments: ["--preview-max-audience", "public"])
        do {
            try await Self.story(server)
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    static func story(_ server: CLITests.ServerProcess) async throws {
        let created = try await CLI.run(["session", "create", "--json"], server: server)
        let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))
        let start = try await CLI.run(
            [
                "exec", session.id, "--", "sh", "-c",
                "(python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 &); for i in $(seq 1 200); do "
                    + "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 8000))' 2>/dev/null "
                    + "&& exit 0; sleep 0.05; done; exit 1",
            ], server: server)
        #expect(start.status == 0, "\(start.stderr)")
        let portText = try String(contentsOfFile: server.dataDirectory + "/preview.port", encoding: .utf8)
        let previewPort = try #require(Int(portText.trimmingCharacters(in: .whitespacesAndNewlines)))

        let shown = try await CLI.run(["preview", session.id], server: server)
        #expect(shown.stdout == "8000  http://8000-\(session.id).preview.localhost:\(previewPort)/\n", "\(shown)")

        let shared = try await CLI.run(
            ["preview", "share", session.id, "--port", "8000", "--to", "public", "--ttl", "1h", "--json"],
            server: server)
        #expect(shared.status == 0, "\(shared.stderr)")
        let share = try #require(try JSONSerialization.jsonObject(with: Data(shared.stdout.utf8)) as? [String: Any])
        #expect(share["audience"] as? String == "public" && share["expires_at"] != nil)
        let link = try #require(share["url"] as? String)
        let shareID = try #require(share["id"] as? String)

        let host = "8000-\(session.id).preview.localhost:\(previewPort)"
        let first = try await PreviewClient.request(
            port: previewPort, host: host, "GET", PreviewHarness.target(of: link))
        #expect(first.status == 303)
        let cookie = PreviewHarness.cookiePair(first.header("Set-Cookie"))
        let page = try await PreviewClient.request(port: previewPort, host: host, headers: ["Cookie": cookie])
        #expect(page.status == 200)
        #expect(page.text.contains("Directory listing"), "python's http.server answers through the preview")

        let listed = try await CLI.run(["preview", "list", session.id], server: server)
        #expect(listed.stdout.contains(shareID) && listed.stdout.contains("live"), "\(listed)")
        let revoked = try await CLI.run(["preview", "revoke", shareID], server: server)
        #expect(revoked.stdout == "revoked \(shareID)\n")
        let after = try await PreviewClient.request(port: previewPort, host: host, headers: ["Cookie": cookie])
        #expect(after.status == 401)
    }
}
