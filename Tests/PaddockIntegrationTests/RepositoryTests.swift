import Foundation
import Hummingbird
import Logging
import PaddockAPI
import PaddockCore
import PaddockGateway
import PaddockHost
import PaddockSandbox
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// Sessions on a real git repository (a bare origin on disk): the clone in /workspace, the repository's
/// runtime.yml as a policy layer, instructions for the agent, the diff against the base, submit (guardrails,
/// secret scan, checks in the sandbox, push from the host) and the review queue merging into the origin.
@Suite(.needsSandboxes, .serialized)
struct RepositoryTests {
    static let runtimeYAML = """
        version: 1
        name: calc
        instructions: |
          Keep functions small and add a test for each one.
        checks:
          - python3 tests/test_calc.py
        guardrails:
          changes: {max_lines: 200, protected_branches: [main]}
        """

    static let files: [String: String] = [
        "README.md": "# calc\n\nA tiny calculator.\n",
        "calc.py": "def add(a, b):\n    return a + b\n",
        "tests/test_calc.py": """
        import sys
        sys.path.insert(0, '.')
        import calc
        assert calc.add(2, 3) == 5
        print('ok')

        """,
        "AGENTS.md": "# Notes for agents\n\nUse four spaces.\n",
        ".gitignore": "__pycache__/\n",
        "runtime.yml": runtimeYAML,
    ]

    /// A stack, a fixture repository and, optionally, a gateway whose vault the secret scan reads.
    static func withRepository(
        _ label: String, files: [String: String] = files, network: Bool = false,
        _ body: (TestStack, GitFixture, SessionNetwork?) async throws -> Void
    ) async throws {
        let fixture = try GitFixture.make(label, files: files)
        defer { fixture.remove() }
        try await withTestStack(label) { stack in
            var net: SessionNetwork?
            if network {
                let logger = TestHost.quietLogger("test.gateway")
                let vault = try SecretVault(store: stack.store, keyFile: stack.dataDirectory + "/vault.key")
                let audit = try JSONLinesAuditSink(directory: stack.dataDirectory + "/gateway-audit")
                let gateway = try EgressGateway(auditSink: audit, logger: logger)
                net = SessionNetwork(gateway: gateway, vault: vault, logger: logger)
                await stack.sessions.setNetwork(net)
            }
            do { try await body(stack, fixture, net) } catch {
                await net?.gateway.shutdown()
                throw error
            }
            await net?.gateway.shutdown()
        }
    }

    /// The server's per-session clones (the repository cache beside them is not one).
    static func clones(_ stack: TestStack) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: stack.dataDirectory + "/repos").filter {
            $0 != "repo-cache"
        }
    }

    static func spec(_ fixture: GitFixture, branch: String = "feature") -> SessionSpec {
        var spec = SessionSpec()
        spec.repository = SessionRepository(url: fixture.origin, branch: branch)
        return spec
    }

    @Test func aSessionOnABranchHasItsFilesAndTheInstructions() async throws {
        try await Self.withRepository("repo-create") { stack, fixture, _ in
            let base = try #require(fixture.originBranch("feature"))
            let s = try await stack.sessions.create(Self.spec(fixture))
            #expect(s.spec.repository?.base == base)
            #expect(s.policy?.sources.map(\.layer) == ["repository"])

            let listing = try await stack.sessions.sh(
                s.id,
                "cd /workspace && stat -c '%U %n' calc.py tests/test_calc.py && git status --short && "
                    + "git rev-parse HEAD && git branch --show-current && git remote | wc -l && ls .git/hooks | wc -l")
            #expect(listing.status.code == 0, "\(listing.stderr)")
            let lines = listing.stdout.split(separator: "\n").map(String.init)
            #expect(lines.prefix(2).allSatisfy { !$0.hasPrefix("root ") }, "files owned by the sandbox user: \(lines)")
            #expect(lines.contains(base))
            #expect(lines.contains("feature"))
            // Only the instruction files differ from the commit (they are Paddock's, not the change).
            #expect(listing.stdout.contains(" M AGENTS.md") && listing.stdout.contains("?? CLAUDE.md"))
            #expect(lines.suffix(2) == ["0", "0"], "no remote and no hooks in the sandbox's .git: \(lines)")

            let claude = try await stack.sessions.sh(s.id, "cat /workspace/CLAUDE.md")
            #expect(claude.stdout.contains("Keep functions small and add a test for each one."))
            #expect(claude.stdout.contains("### From the repository policy"))
            let agents = try await stack.sessions.sh(s.id, "cat /workspace/AGENTS.md")
            #expect(agents.stdout.hasPrefix("# Notes for agents\n\nUse four spaces.\n\n<!-- paddock:instructions"))
            #expect(agents.stdout.contains("Keep functions small"))

            // The instructions are not the session's change.
            let diff = try await stack.sessions.diff(s.id)
            #expect(diff.files.isEmpty, "\(diff.files)")
            #expect(diff.baseCommit == base)
            let kinds = try await #require(await stack.sessions.audit).events(session: s.id).map(\.kind)
            #expect(kinds.contains("repository.clone"))

            // Destroying the session removes the server's clone.
            try await stack.sessions.destroy(s.id)
            let left = try Self.clones(stack)
            #expect(left.isEmpty, "\(left)")
        }
    }

    @Test func theRepositoryPolicyAppliesButCannotLoosenTheTeams() async throws {
        var files = Self.files
        files["runtime.yml"] = """
            version: 1
            guardrails:
              commands: {default: allow, allow: [rm], deny: [shred]}
            """
        try await Self.withRepository("repo-policy", files: files) { stack, fixture, _ in
            let team = stack.dataDirectory + "/team.yml"
            try Data("version: 1\nguardrails:\n  commands: {default: allow, deny: [rm]}\n".utf8).write(
                to: URL(fileURLWithPath: team))
            try await stack.sessions.guardrails.addLayer(.team, path: team)
            let s = try await stack.sessions.create(Self.spec(fixture))
            #expect(s.policy?.sources.map(\.layer) == ["team", "repository"])
            // The repository's allow does not re-allow what the team denies; its own deny applies.
            let rm = try await stack.sessions.sh(
                s.id, "cd /workspace && rm README.md 2>&1; test -e README.md && echo KEPT")
            #expect(rm.stdout.contains("KEPT"), "\(rm.stdout)")
            let shred = try await stack.sessions.sh(
                s.id, "cd /workspace && shred -u calc.py 2>&1; test -e calc.py && echo KEPT")
            #expect(shred.stdout.contains("KEPT"), "\(shred.stdout)")
        }
    }

    @Test func aBrokenRepositoryPolicyNamesTheFileAndLeavesNothing() async throws {
        var files = Self.files
        files["runtime.yml"] = "version: 1\nguardrails:\n  comands: {}\n"
        try await Self.withRepository("repo-badyml", files: files) { stack, fixture, _ in
            let error = await #expect(throws: PaddockError.self) {
                _ = try await stack.sessions.create(Self.spec(fixture))
            }
            #expect(
                error?.message.contains("runtime.yml (repository \(fixture.origin), branch feature):3") == true,
                "\(error?.message ?? "")")
            let sessionsLeft = try await stack.sessions.list(includeEnded: true)
            let clonesLeft = try Self.clones(stack)
            #expect(sessionsLeft.isEmpty && clonesLeft.isEmpty, "\(sessionsLeft) \(clonesLeft)")
        }
    }

    @Test(arguments: [("/nonexistent/repo.git", "feature", "cannot clone"), ("ORIGIN", "no-such-branch", "no branch")])
    func aBadRepositoryOrBranchLeavesNothing(url: String, branch: String, message: String) async throws {
        try await Self.withRepository("repo-bad") { stack, fixture, _ in
            var spec = SessionSpec()
            spec.repository = SessionRepository(url: url == "ORIGIN" ? fixture.origin : url, branch: branch)
            let error = await #expect(throws: PaddockError.self) { _ = try await stack.sessions.create(spec) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
            let sessionsLeft = try await stack.sessions.list(includeEnded: true)
            let clonesLeft = try Self.clones(stack)
            #expect(sessionsLeft.isEmpty && clonesLeft.isEmpty, "\(sessionsLeft) \(clonesLeft)")
        }
    }

    @Test func theDiffIsAgainstTheBaseCommit() async throws {
        try await Self.withRepository("repo-diff") { stack, fixture, _ in
            let s = try await stack.sessions.create(Self.spec(fixture))
            let script = """
                cd /workspace && printf 'def add(a, b):\\n    return a + b\\n\\n\\ndef sub(a, b):\\n    return a - b\\n' > calc.py \
                && rm README.md && mkdir -p docs && printf 'one\\ntwo\\n' > docs/new.md \
                && printf '\\nAgent note.\\n' >> AGENTS.md
                """
            #expect(try await stack.sessions.sh(s.id, script).status.code == 0)
            let diff = try await stack.sessions.diff(s.id)
            let byPath = Dictionary(uniqueKeysWithValues: diff.files.map { ($0.path, $0) })
            #expect(Set(byPath.keys) == ["calc.py", "README.md", "docs/new.md", "AGENTS.md"], "\(diff.files)")
            #expect(byPath["calc.py"]?.status == "modified" && byPath["calc.py"]?.linesAdded == 4)
            #expect(byPath["calc.py"]?.linesRemoved == 0)
            #expect(byPath["README.md"]?.status == "deleted" && byPath["README.md"]?.linesRemoved == 3)
            #expect(byPath["docs/new.md"]?.status == "added" && byPath["docs/new.md"]?.linesAdded == 2)
            // The agent's own addition to AGENTS.md counts; Paddock's block does not.
            #expect(byPath["AGENTS.md"]?.linesAdded == 2 && byPath["AGENTS.md"]?.linesRemoved == 0)
            #expect(diff.linesChanged == 11)
            let patch = try #require(diff.patch)
            #expect(patch.contains("+def sub(a, b):") && patch.contains("-A tiny calculator."))
            #expect(!patch.contains("paddock:instructions"))
            #expect(diff.branch == "feature" && diff.submitBranch == "paddock/\(s.id.rawValue)")
            #expect(diff.violations.isEmpty)
            // The agent's .git is never read: rewriting its history changes nothing.
            _ = try await stack.sessions.sh(s.id, "cd /workspace && rm -rf .git")
            #expect(try await stack.sessions.diff(s.id).linesChanged == 11)
        }
    }

    /// A fork of a repository session keeps the repository, its policy layer and the parent's change; the server
    /// makes the child its own clone when it first needs one.
    @Test func aForkKeepsItsRepository() async throws {
        try await Self.withRepository("repo-fork") { stack, fixture, _ in
            let parent = try await stack.sessions.create(Self.spec(fixture))
            _ = try await stack.sessions.sh(parent.id, "cd /workspace && echo 'From the parent.' >> README.md")
            let child = try #require(try await stack.sessions.fork(parent.id, count: 1).first)
            #expect(child.spec.repository == parent.spec.repository)
            #expect(child.policy?.sources.map(\.layer) == ["repository"])
            _ = try await stack.sessions.sh(child.id, "cd /workspace && echo 'From the child.' >> README.md")
            let diff = try await stack.sessions.diff(child.id)
            #expect(diff.files.map(\.path) == ["README.md"] && diff.files.first?.linesAdded == 2, "\(diff.files)")
            let submitted = try await stack.sessions.submit(child.id, message: nil, branch: nil, by: nil)
            #expect(submitted.submitted, "\(submitted.problems)")
        }
    }

    /// After a restart, clones of sessions that are gone are removed; a live session keeps its own.
    @Test func recoveryPrunesClonesOfEndedSessions() async throws {
        try await Self.withRepository("repo-prune") { stack, fixture, _ in
            let s = try await stack.sessions.create(Self.spec(fixture))
            _ = try await stack.sessions.diff(s.id)  // the server's clone is made on first use
            let orphan = stack.dataDirectory + "/repos/" + SessionID.random().rawValue
            try FileManager.default.createDirectory(atPath: orphan + "/.git", withIntermediateDirectories: true)
            try await stack.sessions.recover()
            let left = try Self.clones(stack)
            #expect(left == [s.id.rawValue])
        }
    }

    @Test func submitLandsTheBranchAndApproveMergesIt() async throws {
        try await Self.withRepository("repo-submit") { stack, fixture, _ in
            let s = try await stack.sessions.create(Self.spec(fixture))
            let change = """
                cd /workspace && printf '\\n\\ndef mul(a, b):\\n    return a * b\\n' >> calc.py \
                && printf 'assert calc.mul(2, 3) == 6\\n' >> tests/test_calc.py
                """
            #expect(try await stack.sessions.sh(s.id, change).status.code == 0)
            let result = try await stack.sessions.submit(s.id, message: "Add mul", branch: nil, by: "alice")
            #expect(result.submitted, "\(result.problems)")
            #expect(result.checks.map(\.command) == ["python3 tests/test_calc.py"])
            #expect(result.checks.first?.passed == true && result.checks.first?.output.contains("ok") == true)
            let review = try #require(result.review)
            let pushed = "paddock/\(s.id.rawValue)"
            #expect(fixture.originBranch(pushed) == review.commit)
            #expect(try fixture.originGit(["log", "-1", "--format=%s|%an", review.commit]) == "Add mul|alice\n")
            // The commit holds the change and nothing of Paddock's (no CLAUDE.md, AGENTS.md unchanged).
            let changed = try fixture.originGit(["diff", "--name-only", review.base, review.commit])
            #expect(changed == "calc.py\ntests/test_calc.py\n")

            #expect(try await stack.sessions.reviews().map(\.id) == [review.id])
            let detail = try await stack.sessions.reviewDetail(review.id)
            #expect(detail.report?.diff.patch?.contains("+def mul(a, b):") == true)
            let kinds = detail.audit.map(\.kind)
            for kind in [
                "repository.clone", "submit.diff", "submit.secret_scan", "submit.check", "submit.push",
                "review.create",
            ] {
                #expect(kinds.contains(kind), "\(kind) missing from \(kinds)")
            }

            let before = try #require(fixture.originBranch("feature"))
            let merged = try await stack.sessions.approveReview(review.id, by: "bob", note: "looks good")
            #expect(merged.state == .merged && merged.decidedBy == "bob")
            let after = try #require(fixture.originBranch("feature"))
            #expect(after != before && after == merged.mergeCommit)
            #expect(try fixture.originGit(["show", "feature:calc.py"]).contains("def mul(a, b):"))
            #expect(fixture.originBranch("main") == before, "main is untouched")
            let trail = try await #require(await stack.sessions.audit).events(session: s.id).map(\.kind)
            #expect(trail.contains("review.approve") && trail.contains("review.merge"))
            #expect(try await stack.sessions.audit?.verify(session: s.id).ok == true)
            await #expect(throws: PaddockError.self) {
                _ = try await stack.sessions.approveReview(review.id, by: nil, note: nil)
            }
        }
    }

    @Test func aConflictingMergeLeavesTheOriginUntouched() async throws {
        try await Self.withRepository("repo-conflict") { stack, fixture, _ in
            let first = try await stack.sessions.create(Self.spec(fixture))
            let second = try await stack.sessions.create(Self.spec(fixture))
            _ = try await stack.sessions.sh(first.id, "cd /workspace && echo 'first' > README.md")
            _ = try await stack.sessions.sh(second.id, "cd /workspace && echo 'second' > README.md")
            let a = try #require(try await stack.sessions.submit(first.id, message: nil, branch: nil, by: nil).review)
            let b = try #require(try await stack.sessions.submit(second.id, message: nil, branch: nil, by: nil).review)
            _ = try await stack.sessions.approveReview(a.id, by: nil, note: nil)
            let head = fixture.originBranch("feature")
            let error = await #expect(throws: PaddockError.self) {
                _ = try await stack.sessions.approveReview(b.id, by: nil, note: nil)
            }
            #expect(error?.code == .conflict && error?.message.contains("does not merge cleanly") == true)
            #expect(fixture.originBranch("feature") == head)
            let stored = try await stack.sessions.review(b.id)
            #expect(stored.state == .approved && stored.problem != nil)
            let rejected = try await stack.sessions.rejectReview(b.id, by: "bob", note: "conflicts")
            #expect(rejected.state == .rejected)
        }
    }

    /// Every way a submit is blocked; each leaves the origin without the session's branch.
    @Test func aBlockedSubmitPushesNothing() async throws {
        try await Self.withRepository("repo-blocked", network: true) { stack, fixture, network in
            let vault = try #require(network?.vault)
            let secretValue = "tok_9f8e7d6c5b4a39281706"
            try await vault.set(
                name: "PAYMENT_TOKEN", team: nil, value: secretValue, hosts: ["api.example.com"], allowHTTP: false)

            func blocked(_ script: String, policy: PolicyText? = nil, branch: String? = nil) async throws -> SubmitBody
            {
                let s = try await stack.sessions.create(Self.spec(fixture), policy: policy)
                #expect(try await stack.sessions.sh(s.id, script).status.code == 0)
                let r = try await stack.sessions.submit(s.id, message: nil, branch: branch, by: nil)
                #expect(!r.submitted && r.review == nil)
                #expect(fixture.originBranch(branch ?? "paddock/\(s.id.rawValue)") == nil || branch == "main")
                try await stack.sessions.destroy(s.id)
                return r
            }

            let vaultLeak = try await blocked(
                "cd /workspace && printf 'x = 1\\nTOKEN = \"\(secretValue)\"\\n' > conf.py")
            #expect(
                vaultLeak.secrets.map { "\($0.kind) \($0.name ?? "-") \($0.file):\($0.line)" } == [
                    "vault PAYMENT_TOKEN conf.py:2"
                ])
            // The report names the secret and shows the diff with the value redacted; the value never appears.
            let encoded = String(decoding: try JSONEncoder().encode(vaultLeak), as: UTF8.self)
            #expect(!encoded.contains(secretValue))
            #expect(vaultLeak.diff.patch?.contains("TOKEN = \"[vault secret PAYMENT_TOKEN]\"") == true)
            #expect(vaultLeak.problems.contains { $0.contains("conf.py:2") && $0.contains("PAYMENT_TOKEN") })

            let aws = try await blocked("cd /workspace && echo 'key = \"AKIAIOSFODNN7EXAMPLE\"' >> calc.py")
            #expect(aws.secrets.map(\.kind) == ["aws_access_key"] && aws.secrets.first?.file == "calc.py")
            #expect(aws.secrets.first?.line == 3)

            let big = try await blocked(
                "cd /workspace && seq 1 50 > numbers.txt",
                policy: PolicyText(text: "version: 1\nguardrails:\n  changes: {max_lines: 10}\n", file: "small.yml"))
            #expect(big.problems.contains { $0.contains("50 lines, more than the 10 allowed") }, "\(big.problems)")

            let mainBefore = fixture.originBranch("main")
            let protected = try await blocked("cd /workspace && echo more >> README.md", branch: "main")
            #expect(protected.problems.contains { $0.contains("branch 'main' is protected") }, "\(protected.problems)")
            #expect(fixture.originBranch("main") == mainBefore)

            let failing = try await blocked("cd /workspace && printf 'def add(a, b):\\n    return a - b\\n' > calc.py")
            #expect(failing.checks.first?.passed == false && failing.checks.first?.exitCode == 1)
            #expect(failing.checks.first?.output.contains("AssertionError") == true)
            #expect(failing.problems.contains { $0.contains("check `python3 tests/test_calc.py` failed") })

            let nothing = try await blocked("true")
            #expect(nothing.problems.contains { $0.contains("nothing to submit") })
            #expect(try await stack.sessions.reviews(all: true).isEmpty)
        }
    }

    /// What the fake GitHub REST server received.
    actor PullRequests {
        var received: [(path: String, authorized: Bool, body: [String: String])] = []
        func add(_ path: String, _ authorized: Bool, _ body: [String: String]) {
            received.append((path, authorized, body))
        }
    }

    /// A submit of a repository whose origin counts as GitHub opens a pull request through the REST API — here a
    /// real HTTPS server on loopback with scripted answers — with the token from the vault; a refusal is reported
    /// on the review and does not undo the pushed branch.
    @Test func submitOpensAPullRequestOnGitHub() async throws {
        try await Self.withRepository("repo-github", network: true) { stack, fixture, network in
            let token = "ghs_" + String(repeating: "t", count: 36)
            try await #require(network).vault.set(
                name: "GITHUB_TOKEN", team: nil, value: token, hosts: ["api.github.com"], allowHTTP: false)
            let seen = PullRequests()
            let refuse = Refusals()
            let github = try await LoopbackUpstream.start { router in
                router.post("/repos/:owner/:repo/pulls") { request, context -> Response in
                    let body = try await request.body.collect(upTo: 1 << 20)
                    let fields =
                        (try? JSONDecoder().decode([String: String].self, from: Data(body.readableBytesView))) ?? [:]
                    await seen.add(
                        request.uri.path, request.headers[.authorization] == "Bearer \(token)", fields)
                    if await refuse.next() {
                        return Response(
                            status: .unprocessableContent, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"message": "Validation Failed"}"#)))
                    }
                    return Response(
                        status: .created, headers: [.contentType: "application/json"],
                        body: .init(
                            byteBuffer: ByteBuffer(string: #"{"number": 7, "html_url": "https://github.test/pr/7"}"#)))
                }
            }
            do {
                var clones = try RepositoryClones(root: stack.dataDirectory + "/repos")
                clones.github = try GitHubPullRequests(
                    apiURL: github.baseURL,
                    origins: [URL(fileURLWithPath: fixture.directory).deletingLastPathComponent().path + "/"],
                    extraTrustRoots: [try github.authority.trustRoot()])
                await stack.sessions.setRepositories(clones)

                let s = try await stack.sessions.create(Self.spec(fixture))
                _ = try await stack.sessions.sh(s.id, "cd /workspace && echo 'More.' >> README.md")
                let result = try await stack.sessions.submit(
                    s.id, message: "Say more\n\nDetails.", branch: nil, by: nil)
                let review = try #require(result.review)
                #expect(review.pullRequest == "https://github.test/pr/7" && review.problem == nil)
                let owner = URL(fileURLWithPath: fixture.directory).lastPathComponent
                let sent = await seen.received
                #expect(sent.map(\.path) == ["/repos/\(owner)/origin/pulls"])
                #expect(sent.first?.authorized == true)
                #expect(sent.first?.body["title"] == "Say more" && sent.first?.body["base"] == "feature")
                #expect(sent.first?.body["head"] == "paddock/\(s.id.rawValue)")
                let kinds = try await #require(await stack.sessions.audit).events(session: s.id).map(\.kind)
                #expect(kinds.contains("review.pull_request"))

                // GitHub refuses: the branch is still pushed and the review says why there is no pull request.
                await refuse.set()
                _ = try await stack.sessions.sh(s.id, "cd /workspace && echo 'Even more.' >> README.md")
                let second = try await stack.sessions.submit(s.id, message: nil, branch: nil, by: nil)
                #expect(second.submitted && second.review?.pullRequest == nil)
                #expect(second.review?.problem?.contains("HTTP 422") == true, "\(second.review?.problem ?? "")")
                #expect(fixture.originBranch("paddock/\(s.id.rawValue)") == second.review?.commit)
            } catch {
                await github.stop()
                throw error
            }
            await github.stop()
        }
    }

    actor Refusals {
        var refuse = false
        func set() { refuse = true }
        func next() -> Bool { refuse }
    }
}
