import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockHost
import PaddockServices
import PaddockTestSupport
import Testing

extension RepositoryTests {
    /// A session asked for on an open pull request (an `@paddock` comment) works on its head branch: its submit
    /// opens no second pull request — even where the origin counts as GitHub — and approving the review merges
    /// the approved diff into that branch on the origin (a bare repository on disk standing in for GitHub), which
    /// is what updates the pull request.
    @Test func submitOnAPullRequestsBranchLandsOnThatBranch() async throws {
        try await Self.withRepository("repo-pr-branch", network: true) { stack, fixture, network in
            try await #require(network).vault.set(
                name: "GITHUB_TOKEN", team: nil, value: "ghs_" + String(repeating: "p", count: 36),
                hosts: ["api.github.com"], allowHTTP: false)
            let seen = PullRequests()
            let github = try await LoopbackUpstream.start { router in
                router.post("/repos/:owner/:repo/pulls") { request, _ -> Response in
                    await seen.add(request.uri.path, false, [:])
                    return Response(status: .created, headers: [.contentType: "application/json"])
                }
            }
            do {
                var clones = try RepositoryClones(root: stack.dataDirectory + "/repos")
                clones.github = try GitHubPullRequests(
                    apiURL: github.baseURL,
                    origins: [URL(fileURLWithPath: fixture.directory).deletingLastPathComponent().path + "/"],
                    extraTrustRoots: [try github.authority.trustRoot()])
                await stack.sessions.setRepositories(clones)

                let address = "https://github.test/acme/calc/pull/7"
                var spec = Self.spec(fixture, branch: "feature")
                spec.repository?.pullRequest = address
                let s = try await stack.sessions.create(spec)
                #expect(s.spec.repository?.pullRequest == address)
                let before = try #require(fixture.originBranch("feature"))
                _ = try await stack.sessions.sh(s.id, "cd /workspace && echo 'Reviewed.' >> README.md")
                let result = try await stack.sessions.submit(s.id, message: "Answer the review", branch: nil, by: nil)
                #expect(result.submitted, "\(result.problems)")
                let review = try #require(result.review)
                #expect(review.pullRequest == address && review.problem == nil)
                #expect(review.targetBranch == "feature")
                #expect(await seen.received.isEmpty, "no second pull request")
                #expect(fixture.originBranch("feature") == before, "nothing lands before the approval")

                let merged = try await stack.sessions.approveReview(review.id, by: "bob", note: nil)
                #expect(merged.state == .merged)
                #expect(fixture.originBranch("feature") == merged.mergeCommit)
                #expect(try fixture.originGit(["show", "feature:README.md"]).contains("Reviewed."))
            } catch {
                await github.stop()
                throw error
            }
            await github.stop()
        }
    }

    @Test func aPullRequestAddressMustBeAWebAddress() {
        var repository = SessionRepository(url: "/srv/calc.git", branch: "feature", pullRequest: "javascript:alert(1)")
        #expect(throws: PaddockError.self) { try repository.validate() }
        repository.pullRequest = "https://github.com/acme/calc/pull/7"
        #expect(throws: Never.self) { try repository.validate() }
    }
}
