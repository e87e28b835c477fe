import Foundation
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// `paddock session create --repo`, `diff`, `submit` and `reviews` as a user types them, against a real server
/// process and a bare origin on disk.
@Suite(.needsSandboxes, .serialized)
struct RepositoryCLITests {
    typealias CLI = CLITests.CLI

    @Test func submitAndReviewFromTheCommandLine() async throws {
        let fixture = try GitFixture.make("cli-repo", files: RepositoryTests.files)
        defer { fixture.remove() }
        try await CLITests.withServer { server in
            let created = try await CLI.run(
                ["session", "create", "--repo", fixture.origin, "--branch", "feature", "--json"], server: server)
            #expect(created.status == 0, "\(created.stderr)")
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))
            #expect(session.repository?.branch == "feature")
            let shown = try await CLI.run(["session", "get", session.id], server: server)
            #expect(shown.stdout.contains("repo:      \(fixture.origin)   branch: feature"))

            let change = "printf '\\n\\ndef mul(a, b):\\n    return a * b\\n' >> calc.py"
            let exec = try await CLI.run(["exec", session.id, "--", "sh", "-c", change], server: server)
            #expect(exec.status == 0, "\(exec.stderr)")
            let diff = try await CLI.run(["diff", session.id, "--check"], server: server)
            #expect(diff.status == 0 && diff.stdout.contains("modified +4 -0") && diff.stdout.contains("calc.py"))
            let patch = try await CLI.run(["diff", session.id, "--patch"], server: server)
            #expect(patch.stdout.contains("+def mul(a, b):") && patch.stdout.contains("submit branch: paddock/"))

            let submit = try await CLI.run(["submit", session.id, "--message", "Add mul"], server: server)
            #expect(submit.status == 0, "\(submit.stdout) \(submit.stderr)")
            #expect(submit.stdout.contains("check: passed `python3 tests/test_calc.py`"))
            #expect(submit.stdout.contains("submitted: paddock/\(session.id) at "))
            let reviewID = try #require(
                submit.stdout.split(separator: "\n").first { $0.hasPrefix("review: ") }?
                    .split(separator: " ").dropFirst().first.map(String.init))

            let list = try await CLI.run(["reviews", "list"], server: server)
            #expect(list.stdout.contains(reviewID) && list.stdout.contains("open") && list.stdout.contains("Add mul"))
            let show = try await CLI.run(["reviews", "show", reviewID], server: server)
            for part in [
                "## Checks", "passed `python3 tests/test_calc.py`", "## Diff (1 files, 4 lines)", "+def mul(a, b):",
                "## Audit timeline", "submit.push", "review.create",
            ] {
                #expect(show.stdout.contains(part), "\(part) missing from:\n\(show.stdout)")
            }
            let approve = try await CLI.run(["reviews", "approve", reviewID, "--note", "ok"], server: server)
            #expect(approve.status == 0 && approve.stdout.contains("merged into feature"), "\(approve.stderr)")
            #expect(try fixture.originGit(["show", "feature:calc.py"]).contains("def mul(a, b):"))
            let again = try await CLI.run(["reviews", "approve", reviewID], server: server)
            #expect(again.status != 0 && again.stderr.contains("only an open review can be approved"))

            // A blocked submit: readable report, exit 1, and the same as JSON.
            _ = try await CLI.run(
                ["exec", session.id, "--", "sh", "-c", "echo 'key = \"AKIAIOSFODNN7EXAMPLE\"' >> calc.py"],
                server: server)
            let blocked = try await CLI.run(["submit", session.id], server: server)
            #expect(blocked.status == 1)
            #expect(blocked.stdout.contains("secret: aws_access_key at calc.py:7"), "\(blocked.stdout)")
            #expect(blocked.stdout.contains("blocked: nothing was pushed"))
            let json = try await CLI.run(["submit", session.id, "--json"], server: server)
            #expect(json.status == 1)
            let body = try APICoding.decoder().decode(SubmitBody.self, from: Data(json.stdout.utf8))
            #expect(!body.submitted && body.secrets.map(\.kind) == ["aws_access_key"])
            #expect(body.problems.allSatisfy { !$0.contains("AKIAIOSFODNN7EXAMPLE") })
        }
    }
}
