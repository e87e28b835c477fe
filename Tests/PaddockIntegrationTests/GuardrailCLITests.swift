import Foundation
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// Guardrails as a user drives them: `--policy`, `session get`, `approvals`, `diff --check`, against a real
/// `paddock server` process. Part of `CLITests`, so it runs serialized with the other server-process tests.
extension CLITests {
    @Test func guardrailsFromTheCommandLine() async throws {
        try await CLITests.withServer { server in
            let policy = server.dataDirectory + "/runtime.yml"
            try """
            version: 1
            guardrails:
              commands: {ask: [touch], deny: [rm]}
              changes: {max_lines: 1}
            """.write(toFile: policy, atomically: true, encoding: .utf8)
            let created = try await CLI.run(["session", "create", "--policy", policy, "--json"], server: server)
            #expect(created.status == 0, "\(created.stderr)")
            let id = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8)).id

            let shown = try await CLI.run(["session", "get", id], server: server)
            #expect(shown.stdout.contains("policy:"))
            #expect(shown.stdout.contains("rm") && shown.stdout.contains("runtime.yml:3:"), "\(shown.stdout)")

            let refused = try await CLI.run(
                ["exec", id, "--", "sh", "-c", "echo x > f; rm f 2>&1; ls"], server: server)
            #expect(refused.stdout.contains("Operation not permitted"))
            #expect(refused.stdout.contains("f\n"))

            // ask: the exec waits; the session says so; an approval lets it finish.
            let waiting = Task {
                try await CLI.run(["exec", id, "--", "sh", "-c", "touch g; echo done"], server: server)
            }
            var approvalID: String?
            for _ in 0..<200 where approvalID == nil {
                let list = try await CLI.run(["approvals", "list", "--json"], server: server)
                approvalID = try? APICoding.decoder().decode(ApprovalListBody.self, from: Data(list.stdout.utf8))
                    .approvals.first?.id
                if approvalID == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            let approval = try #require(approvalID)
            #expect(try await CLI.run(["session", "get", id], server: server).stdout.contains("awaiting_approval"))
            let answered = try await CLI.run(["approvals", "approve", approval, "--note", "fine"], server: server)
            #expect(answered.status == 0, "\(answered.stderr)")
            #expect(try await waiting.value.stdout == "done\n")
            let history = try await CLI.run(["approvals", "list", "--all"], server: server)
            // The approver is the user behind the token: the admin token belongs to the owner account.
            #expect(
                history.stdout.contains("approved") && history.stdout.contains("answered by \(UserAccount.ownerName)"),
                "\(history.stdout)")

            // diff --check: f (1 line), g (empty) and h (2 lines) change 3 lines > max_lines 1 → exit 1.
            _ = try await CLI.run(["exec", id, "--", "sh", "-c", "printf 'a\\nb\\n' > h"], server: server)
            let diff = try await CLI.run(["diff", id, "--check"], server: server)
            #expect(diff.status == 1)
            #expect(diff.stdout.contains("h") && diff.stdout.contains("max_lines"), "\(diff.stdout)")

            // A bad policy is refused with its location before anything is created.
            let bad = server.dataDirectory + "/bad.yml"
            try "version: 1\nguardrails:\n  commands: {deny: [rm], alow: [ls]}\n".write(
                toFile: bad, atomically: true, encoding: .utf8)
            let refusedPolicy = try await CLI.run(["session", "create", "--policy", bad], server: server)
            #expect(refusedPolicy.status == 1)
            #expect(refusedPolicy.stderr.contains("bad.yml:3:"), "\(refusedPolicy.stderr)")
        }
    }
}
