import Foundation
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// `paddock users|teams|tokens|audit|stop-all` as a person types them, against a real `paddock server`.
@Suite(.needsSandboxes, .serialized)
struct AccessCLITests {
    typealias Server = CLITests.ServerProcess

    /// Runs the CLI as the admin (no token: the data dir's admin.token) or with `token`.
    static func paddock(_ args: [String], _ server: Server, token: String? = nil) async throws -> CLITests.CLIResult {
        let (p, _, _) = CLITests.CLI.process(args, server: server)
        if let token { p.environment?["PADDOCK_TOKEN"] = token }
        p.standardInput = FileHandle.nullDevice
        let r = try await ChildProcess.run(p)
        return CLITests.CLIResult(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    @Test func peopleTokensAndTheAuditTrailFromTheCommandLine() async throws {
        let server = try await Server()
        do {
            #expect(try await Self.paddock(["teams", "add", "web"], server).status == 0)
            #expect(try await Self.paddock(["teams", "add", "support", "--permissions", "read"], server).status == 0)
            #expect(try await Self.paddock(["users", "add", "alice", "--team", "web"], server).status == 0)
            #expect(
                try await Self.paddock(["users", "add", "sam", "--role", "member", "--team", "support"], server).status
                    == 0)
            let teams = try await Self.paddock(["teams", "list"], server)
            #expect(teams.stdout.contains("web") && teams.stdout.contains("alice") && teams.stdout.contains("support"))

            let issued = try await Self.paddock(["tokens", "create", "--user", "alice", "--name", "laptop"], server)
            let alice = issued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(alice.hasPrefix("pdk_") && issued.stderr.contains("shown once"), "\(issued)")
            let samToken = try await Self.paddock(["tokens", "create", "--user", "sam"], server).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)

            // Budgets: the admin sets one; a member of the team reads it; a bad amount is refused before sending.
            let budget = try await Self.paddock(["teams", "budget", "web", "--monthly", "25"], server)
            #expect(budget.status == 0 && budget.stdout.contains("$0.00 of its $25.00 monthly budget"), "\(budget)")
            let read = try await Self.paddock(["teams", "budget", "web"], server, token: alice)
            #expect(read.stdout.contains("$25.00"), "\(read)")
            #expect(try await Self.paddock(["teams", "list"], server).stdout.contains("$25.00/mo"))
            let negative = try await Self.paddock(["teams", "budget", "web", "--monthly=-1"], server)
            #expect(negative.status != 0 && negative.stderr.contains("0 or more"), "\(negative)")
            let denied = try await Self.paddock(["teams", "budget", "web", "--clear"], server, token: alice)
            #expect(denied.status != 0, "\(denied)")
            let cleared = try await Self.paddock(["teams", "budget", "web", "--clear"], server)
            #expect(cleared.stdout.contains("no budget limits its runs"), "\(cleared)")

            // alice's session lands in her only team.
            let created = try await Self.paddock(["session", "create", "--json"], server, token: alice)
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))
            #expect(session.team == "web" && session.createdBy == "alice", "\(created.stderr)")
            #expect(
                try await Self.paddock(["exec", session.id, "--", "sh", "-c", "echo hi"], server, token: alice).stdout
                    == "hi\n")

            // sam (support: read only) cannot see it at all; nor create sessions in support.
            let hidden = try await Self.paddock(["exec", session.id, "--", "true"], server, token: samToken)
            #expect(hidden.status == 1 && hidden.stderr.contains("does not exist"), "\(hidden.stderr)")
            let samCreate = try await Self.paddock(["session", "create"], server, token: samToken)
            #expect(samCreate.status == 1 && samCreate.stderr.contains("granted read"), "\(samCreate.stderr)")

            let show = try await Self.paddock(["audit", "show", session.id], server, token: alice)
            #expect(show.stdout.contains("session.create") && show.stdout.contains("alice"), "\(show.stdout)")
            // The exec went over the WebSocket, and is still attributed to alice, with its argv and exit.
            #expect(
                show.stdout.split(separator: "\n").contains {
                    $0.contains(" exec ") && $0.contains("alice") && $0.contains("argv=[sh, -c, echo hi]")
                        && $0.contains("exit=0")
                }, "\(show.stdout)")
            let verified = try await Self.paddock(["audit", "verify", session.id], server, token: alice)
            #expect(verified.status == 0 && verified.stdout.contains("2 events"), "\(verified)")
            let export = try await Self.paddock(["audit", "export", session.id], server, token: alice)
            #expect(export.stdout.split(separator: "\n").count == 2)

            // Tamper with the server's database file directly: verify fails and names the event.
            try AuditTrailTests.sqlite(
                server.dataDirectory + "/paddock.sqlite",
                "UPDATE audit_event SET body = CAST(replace(CAST(body AS TEXT), 'echo hi', 'echo ho') AS BLOB) "
                    + "WHERE session = '\(session.id)' AND seq = 2")
            let tampered = try await Self.paddock(["audit", "verify", session.id], server, token: alice)
            #expect(tampered.status == 1 && tampered.stdout.contains("TAMPERED at event 2"), "\(tampered)")

            // Revoked: the token stops working at once.
            let list = try await Self.paddock(["tokens", "list", "--json"], server, token: alice)
            let tokens = try APICoding.decoder().decode(TokenListBody.self, from: Data(list.stdout.utf8))
            let id = try #require(tokens.tokens.first?.id)
            #expect(!list.stdout.contains(alice))
            #expect(try await Self.paddock(["tokens", "revoke", id], server, token: alice).status == 0)
            let after = try await Self.paddock(["session", "list"], server, token: alice)
            #expect(after.status == 1 && after.stderr.contains("not valid"), "\(after.stderr)")

            // Emergency stop, persisted across a restart, then lifted.
            let stop = try await Self.paddock(["stop-all"], server)
            #expect(stop.status == 0 && stop.stdout.contains("1 sessions frozen and destroyed"), "\(stop)")
            await server.crash()
            try await server.start()
            let refused = try await Self.paddock(["session", "create"], server)
            #expect(refused.status == 1 && refused.stderr.contains("emergency stop"), "\(refused.stderr)")
            #expect(try await Self.paddock(["stop-all", "--lift"], server).status == 0)
            let limits = try await Self.paddock(["limits", "set", "--per-user", "1", "--lifetime", "1h"], server)
            #expect(limits.stdout.contains("max sessions per user:  1") && limits.stdout.contains("1h"), "\(limits)")
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }
}
