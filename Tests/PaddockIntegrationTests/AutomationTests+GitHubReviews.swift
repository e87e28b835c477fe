import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockCore
import PaddockStore
import PaddockTestSupport
import Testing

@testable import PaddockServices

/// GitHub pull request review comments: an `@paddock` comment on a line of a pull request's diff starts work on
/// the pull request's head branch (named by the event: no lookup) and is answered in that comment's thread; a
/// pull request from a fork is refused, since its branch is not in the project's repository.
extension AutomationTests {
    static func githubHeaders(_ body: String, event: String, delivery: String) -> HTTPFields {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data(body.utf8), using: SymmetricKey(data: Data(githubSecret.utf8)))
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[header("X-GitHub-Event")] = event
        headers[header("X-GitHub-Delivery")] = delivery
        headers[header("X-Hub-Signature-256")] = "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
        return headers
    }

    @Test func aGitHubReviewCommentWorksOnThePullRequestsBranchAndAnswersInItsThread() async throws {
        try await Self.withChat("review-comment") { s, standIn, client in
            let (automation, _) = try await s.automations.create(
                Self.spec(.github, prompt: "{{event.path}}:{{event.line}} {{event.text}}"), by: Self.admin)
            try await s.automations.link(provider: "github", external: "octocat", user: "alice", by: Self.admin)
            // The shape of GitHub's pull_request_review_comment event (trimmed to what matters).
            let body =
                #"{"action":"created","comment":{"id":4242,"body":"@paddock rename this variable","#
                + #""path":"src/app.py","line":12,"user":{"login":"octocat"}},"#
                + #""pull_request":{"number":7,"title":"Refactor","html_url":"https://github.com/acme/web/pull/7","#
                + #""head":{"ref":"feature-x","repo":{"full_name":"acme/web"}},"base":{"ref":"main"}},"#
                + #""repository":{"full_name":"acme/web"}}"#
            try await client.execute(
                uri: "/hooks/github", method: .post,
                headers: Self.githubHeaders(
                    body, event: "pull_request_review_comment", delivery: "9e2b3a10-cc78-11e3-81ab-4c9367dc0958"),
                body: ByteBuffer(string: body)
            ) { response in #expect(response.status == .ok, "\(response.text)") }
            try await Self.until("the start and the outcome in the comment's thread") {
                standIn.requests("/replies").count >= 2
            }
            // The event named the branch: no lookup, and nothing on the pull request's main thread.
            #expect(standIn.requests("/pulls/7").isEmpty && standIn.requests("/issues/7/comments").isEmpty)
            let replies = standIn.requests("/replies")
            for reply in replies {
                #expect(reply.method == "POST" && reply.path == "/github/repos/acme/web/pulls/7/comments/4242/replies")
                #expect(reply.headers["authorization"] == "Bearer ghp_test_token")
                #expect(try JSONDocument.parse(Data(reply.body.utf8))[try JSONPath("body")] != nil)
            }
            #expect(replies[1].body.contains("Finished (completed)"), "\(replies[1].body)")
            let started = try #require(
                try await s.automations.history(automation.id, for: Self.admin).first?.invocation)
            #expect(started.prompt == "src/app.py:12 rename this variable")
            #expect(started.branch == "feature-x" && started.pullRequest == "https://github.com/acme/web/pull/7")
            let session = try await s.sessions.get(try #require(started.session))
            #expect(session.spec.repository?.branch == "feature-x")
            #expect(session.spec.repository?.pullRequest == "https://github.com/acme/web/pull/7")
        }
    }

    @Test func aPullRequestFromAForkIsRefused() async throws {
        try await Self.withChat("fork") { s, _, client in
            _ = try await s.automations.create(Self.spec(.github, prompt: "{{event.text}}"), by: Self.admin)
            try await s.automations.link(provider: "github", external: "octocat", user: "alice", by: Self.admin)
            let body =
                #"{"action":"created","comment":{"id":1,"body":"@paddock fix","user":{"login":"octocat"}},"#
                + #""pull_request":{"number":7,"html_url":"https://github.com/acme/web/pull/7","#
                + #""head":{"ref":"main","repo":{"full_name":"mallory/web"}}},"repository":{"full_name":"acme/web"}}"#
            try await client.execute(
                uri: "/hooks/github", method: .post,
                headers: Self.githubHeaders(body, event: "pull_request_review_comment", delivery: "fork-1"),
                body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .badRequest)
                #expect(response.text.contains("the fork mallory"), "\(response.text)")
            }
            #expect(try await s.sessions.list(includeEnded: true).isEmpty)
        }
    }
}
