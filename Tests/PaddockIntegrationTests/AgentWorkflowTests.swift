import Foundation
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// The workflow the product exists for, end to end on real components: a session on a git repository (a
/// bare origin on disk) → the real Claude Code, driven by a scripted model through the egress gateway, adds
/// a function and its test and runs the tests in the sandbox → a command the repository's policy denies is
/// refused and the agent carries on → the diff against the base → the repository's checks pass → submit
/// pushes `paddock/<session>` to the origin from the host → approving the review merges it.
@Suite(.needsSandboxes, .serialized)
struct AgentWorkflowTests {
    static let policy = """
        version: 1
        name: calc
        instructions: |
          Add a test for every function you write.
        checks:
          - python3 tests/test_calc.py
        guardrails:
          commands: {deny: [curl]}
          changes: {max_lines: 100, protected_branches: [main]}
        """

    static let files: [String: String] = [
        "calc.py": "def add(a, b):\n    return a + b\n",
        "tests/test_calc.py":
            "import sys\nsys.path.insert(0, '.')\nimport calc\nassert calc.add(2, 3) == 5\nprint('ok')\n",
        "runtime.yml": policy,
        ".gitignore": "__pycache__/\n",
    ]

    static let script: [ScriptedModelServer.Turn] = [
        // Claude Code writes an existing file only after reading it.
        .tool("Read", input: #"{"file_path":"/workspace/calc.py"}"#),
        .tool("Read", input: #"{"file_path":"/workspace/tests/test_calc.py"}"#),
        .tool(
            "Write",
            input:
                #"{"file_path":"/workspace/calc.py","content":"def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"}"#
        ),
        .tool(
            "Write",
            input:
                #"{"file_path":"/workspace/tests/test_calc.py","content":"import sys\nsys.path.insert(0, '.')\nimport calc\nassert calc.add(2, 3) == 5\nassert calc.mul(2, 3) == 6\nprint('ok')\n"}"#
        ),
        .tool(
            "Bash", input: #"{"command":"cd /workspace && python3 tests/test_calc.py","description":"run the tests"}"#),
        .tool("Bash", input: #"{"command":"curl --version","description":"check curl"}"#),
        .say("Added mul() with a test; the tests pass. curl is not allowed here, so I skipped it."),
    ]

    @Test func aPromptBecomesAReviewedMergedChange() async throws {
        try AgentRunTests.requireClaude()
        let fixture = try GitFixture.make("e2e", files: Self.files)
        defer { fixture.remove() }
        try await AgentRunTests.with("e2e", script: Self.script) { agents in
            let sessions = agents.sessions
            var spec = agents.sessionSpec()
            spec.repository = SessionRepository(url: fixture.origin, branch: "feature")
            let session = try await sessions.create(spec)
            let base = try #require(fixture.originBranch("feature"))
            #expect(session.spec.repository?.base == base)
            #expect(
                try await sessions.sh(session.id, "cat /workspace/CLAUDE.md").stdout.contains("Add a test for every"))

            // The agent works: writes the function and its test, runs the tests, is refused curl, carries on.
            let started = try await agents.runs.start(
                session: session.id, prompt: "Add a mul function and its test", model: "claude-sonnet-4-5",
                by: "alice")
            let run = try await agents.runs.wait(started.id)
            #expect(run.status == .completed, "\(run.reason ?? "") \(run.errors)")
            #expect(run.finalMessage?.contains("Added mul()") == true, "\(run.finalMessage ?? "-")")
            #expect(run.commands.contains { $0.contains("python3 tests/test_calc.py") }, "\(run.commands)")
            #expect(run.refused.contains { $0.contains("curl") }, "\(run.refused)")
            #expect(Set(run.filesChanged).isSuperset(of: ["calc.py", "tests/test_calc.py"]), "\(run.filesChanged)")
            var events: [RunEvent] = []
            for await e in try await agents.runs.events(run.id) { events.append(e) }
            #expect(
                events.contains { $0.kind == "tool_result" && $0.tool == "Bash" && $0.text?.contains("ok") == true },
                "the tests ran in the sandbox and passed")
            #expect(
                events.contains {
                    $0.kind == "tool_result" && $0.text?.lowercased().contains("not permitted") == true
                }, "the agent saw curl refused")

            // The diff against the base: the two files, not Paddock's instruction files.
            let diff = try await sessions.diff(session.id)
            #expect(diff.files.map(\.path).sorted() == ["calc.py", "tests/test_calc.py"], "\(diff.files)")
            #expect(diff.violations.isEmpty)
            #expect(diff.patch?.contains("+def mul(a, b):") == true)

            // Submit: the checks run in the sandbox and pass; the branch lands on the origin.
            let submitted = try await sessions.submit(session.id, message: "Add mul", branch: nil, by: "alice")
            #expect(submitted.submitted, "\(submitted.problems)")
            #expect(submitted.checks.map(\.passed) == [true])
            let review = try #require(submitted.review)
            #expect(fixture.originBranch("paddock/\(session.id.rawValue)") == review.commit)
            #expect(fixture.originBranch("feature") == base, "nothing is merged before the review")

            // The review shows the run beside the diff and the audit timeline; approving merges it.
            let detail = try await sessions.reviewDetail(review.id)
            #expect(detail.runs.count == 1)
            #expect(detail.audit.contains { $0.kind == "run.finish" })
            let merged = try await sessions.approveReview(review.id, by: "bob", note: "ship it")
            #expect(merged.state == .merged)
            #expect(try fixture.originGit(["show", "feature:calc.py"]).contains("def mul(a, b):"))
            #expect(try fixture.originGit(["show", "feature:tests/test_calc.py"]).contains("calc.mul(2, 3) == 6"))
            #expect(fixture.originBranch("main") != fixture.originBranch("feature"), "main is untouched")

            // Every step is in the session's hash-chained audit trail, and the trail verifies.
            let audit = try #require(await sessions.audit)
            let kinds = Set(try await audit.events(session: session.id).map(\.kind))
            for kind in [
                "repository.clone", "run.start", "exec.guardrail", "run.finish", "submit.check", "submit.push",
                "review.approve", "review.merge",
            ] {
                #expect(kinds.contains(kind), "\(kind) is missing from the audit trail: \(kinds.sorted())")
            }
            let changes = try await audit.events(session: session.id).filter { $0.kind == "file.change" }
            #expect(changes.count == 2)
            #expect(
                changes.contains {
                    $0.fields["path"] == .string("calc.py") && $0.fields["added"] == .int(4)
                        && $0.fields["removed"] == .int(0)
                }, "\(changes.map(\.fields))")
            #expect(try await audit.verify(session: session.id).ok)
        }
    }
}
