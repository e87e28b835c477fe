import Foundation
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// Generated and binary files no `.gitignore` covers: a submit keeps them and warns (the report, the CLI, the
/// review page), and `review: {exclude_generated: true}` leaves them out of the change.
struct GeneratedFilesTests {
    @Test(arguments: [
        ("node_modules/left-pad/index.js", false, true), ("pkg/__pycache__/m.cpython-311.pyc", false, true),
        ("build/app.o", false, true), ("src/tool", true, true), ("target/debug/app", true, true),
        ("src/app.py", false, false), ("docs/logo.png", true, false), ("dist.md", false, false),
        ("calc.egg-info/PKG-INFO", false, true),
    ])
    func namesWhatLooksGenerated(_ path: String, _ binary: Bool, _ generated: Bool) {
        #expect((GeneratedFiles.reason(path: path, binary: binary) != nil) == generated)
    }

    @Test func patternsMatchLikeGitignore() {
        let rules = GeneratedFiles(excludeGenerated: false, patterns: ["*.log", "tmp/", "docs/drafts"])
        #expect(rules.excluded(path: "out/run.log", binary: false) != nil)
        #expect(rules.excluded(path: "a/tmp/x.txt", binary: false) != nil)
        #expect(rules.excluded(path: "tmp", binary: false) == nil, "tmp/ matches directories only")
        #expect(rules.excluded(path: "docs/drafts/a.md", binary: false) != nil)
        #expect(rules.excluded(path: "x/docs/drafts/a.md", binary: false) == nil, "a pattern with / is anchored")
        #expect(rules.excluded(path: "node_modules/x.js", binary: false) == nil, "exclude_generated is off")
        #expect(GeneratedFiles(excludeGenerated: true).excluded(path: "node_modules/x.js", binary: false) != nil)
    }
}

@Suite(.needsSandboxes, .serialized)
struct SubmitWarningTests {
    /// The agent leaves dependencies, an object file and a compiled program beside its real change.
    static let change = """
        cd /workspace && printf '\\n\\ndef mul(a, b):\\n    return a * b\\n' >> calc.py \
        && mkdir -p node_modules/left-pad build && echo 'module.exports = 1' > node_modules/left-pad/index.js \
        && printf 'obj' > build/calc.o && head -c 64 /usr/bin/true > calctool
        """

    @Test func aSubmitWarnsAboutGeneratedFilesAndKeepsThem() async throws {
        try await RepositoryTests.withRepository("submit-warn") { stack, fixture, _ in
            let s = try await stack.sessions.create(RepositoryTests.spec(fixture))
            #expect(try await stack.sessions.sh(s.id, Self.change).status.code == 0)
            let result = try await stack.sessions.submit(s.id, message: "Add mul", branch: nil, by: "alice")
            #expect(result.submitted, "\(result.problems)")
            #expect(
                Set(result.diff.generated ?? []) == ["node_modules/left-pad/index.js", "build/calc.o", "calctool"],
                "\(result.diff.generated ?? [])")
            #expect(result.diff.excluded == [])
            let warning = try #require(result.diff.warnings?.first)
            #expect(warning.contains("3 generated or binary files") && warning.contains("exclude_generated: true"))
            let review = try #require(result.review)
            let changed = try fixture.originGit(["diff", "--name-only", review.base, review.commit])
            #expect(changed.contains("node_modules/left-pad/index.js") && changed.contains("calc.py"))
            // The review keeps the warning for the reviewer.
            let detail = try await stack.sessions.reviewDetail(review.id)
            #expect(detail.report?.diff.warnings == [warning])
        }
    }

    @Test func thePolicyLeavesGeneratedFilesOutOfTheChange() async throws {
        try await RepositoryTests.withRepository("submit-exclude") { stack, fixture, _ in
            let policy = PolicyText(
                text: "version: 1\nreview: {exclude_generated: true, exclude: [\"*.log\"]}\n", file: "runtime.yml")
            let s = try await stack.sessions.create(RepositoryTests.spec(fixture), policy: policy)
            #expect(try await stack.sessions.sh(s.id, Self.change + " && echo x > run.log").status.code == 0)
            let result = try await stack.sessions.submit(s.id, message: "Add mul", branch: nil, by: "alice")
            #expect(result.submitted, "\(result.problems)")
            #expect(
                Set(result.diff.excluded ?? [])
                    == ["node_modules/left-pad/index.js", "build/calc.o", "calctool", "run.log"],
                "\(result.diff.excluded ?? [])")
            #expect(result.diff.warnings == [] && result.diff.files.map(\.path) == ["calc.py"])
            let review = try #require(result.review)
            let changed = try fixture.originGit(["diff", "--name-only", review.base, review.commit])
            #expect(changed == "calc.py\n")
            // The files are still in the sandbox: only the change leaves them out.
            #expect(try await stack.sessions.sh(s.id, "test -f /workspace/calctool").status.code == 0)
            let trail = try await #require(await stack.sessions.audit).events(session: s.id)
            let diffEvent = try #require(trail.first { $0.kind == "submit.diff" })
            #expect(diffEvent.fields["excluded"] != nil)
        }
    }

    @Test func theCommandLineShowsTheWarning() async throws {
        let fixture = try GitFixture.make("cli-submit-warn", files: RepositoryTests.files)
        defer { fixture.remove() }
        try await CLITests.withServer { server in
            let created = try await CLITests.CLI.run(
                ["session", "create", "--repo", fixture.origin, "--branch", "feature", "--json"], server: server)
            #expect(created.status == 0, "\(created.stderr)")
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8))
            let exec = try await CLITests.CLI.run(
                ["exec", session.id, "--", "sh", "-c", Self.change], server: server)
            #expect(exec.status == 0, "\(exec.stderr)")
            let diff = try await CLITests.CLI.run(["diff", session.id], server: server)
            #expect(diff.stdout.contains("warning: the change adds 3 generated or binary files"), "\(diff.stdout)")
            let submit = try await CLITests.CLI.run(["submit", session.id, "--message", "Add mul"], server: server)
            #expect(submit.status == 0, "\(submit.stdout) \(submit.stderr)")
            #expect(submit.stdout.contains("warning: the change adds 3 generated or binary files"), "\(submit.stdout)")
            #expect(submit.stdout.contains("node_modules/left-pad/index.js (installed npm packages"))
            let json = try await CLITests.CLI.run(["diff", session.id, "--json"], server: server)
            let body = try APICoding.decoder().decode(ChangeDiff.self, from: Data(json.stdout.utf8))
            #expect(body.generated?.count == 3 && body.warnings?.count == 1, "\(json.stdout.prefix(2000))")
            _ = try await CLITests.CLI.run(["session", "destroy", session.id], server: server)
        }
    }
}

/// The review page shows the warning and what the policy left out (escaped like all text).
struct SubmitWarningPageTests {
    @Test func theReviewPageShowsTheWarning() async throws {
        try await WebTestStack.with { web in
            let session = try #require(web.sessions["sa"])
            let diff = ChangeDiff(
                base: "b", files: [], linesChanged: 0, branch: "main", maxLines: nil, protectedBranches: [],
                violations: [])
            var report = SubmitReport(submitted: true, problems: [], diff: diff, checks: [], secrets: [])
            report.diff.warnings = ["the change adds 1 generated or binary file no .gitignore covers: <b>a.pyc</b>"]
            report.diff.excluded = ["node_modules/x.js"]
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            var review = try ReviewAccessTests.review(session: session.rawValue, team: "a")
            review.report = String(decoding: try encoder.encode(report), as: UTF8.self)
            try await web.store.insertReview(review)
            let (status, _, page) = try await web.get("/reviews/\(review.id)", as: "alice")
            #expect(status == .ok)
            #expect(page.contains("Warning: the change adds 1 generated or binary file"), "\(page.prefix(3000))")
            #expect(page.contains("&lt;b&gt;a.pyc&lt;/b&gt;") && !page.contains("<b>a.pyc"))
            #expect(page.contains("node_modules/x.js"))
        }
    }
}
