import Foundation
import PaddockCore
import Testing

@testable import PaddockServer
@testable import PaddockServices

/// The pure parts of repository sessions: the secret scanner, instruction blocks, GitHub origins, names.
struct RepositoryUnitTests {
    static let patch = """
        diff --git a/app.py b/app.py
        --- a/app.py
        +++ b/app.py
        @@ -10,3 +10,6 @@ def main():
             keep = 1
        -    old = 2
        +    aws = "AKIAIOSFODNN7EXAMPLE"
        +    gh = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
             more = 3
        +    token = "s3cr3t-value-xyz"
        diff --git a/keys/id b/keys/id
        new file mode 100644
        --- /dev/null
        +++ b/keys/id
        @@ -0,0 +1,3 @@
        +-----BEGIN OPENSSH PRIVATE KEY-----
        +slack = xoxb-1234567890-abcdefghij
        +openai = sk-proj-abcdefghijklmnopqrstuvwx
        """

    @Test func theScannerFindsValuesAndKeyShapesByLine() throws {
        let scanner = SecretScanner(values: [("DB_PASSWORD", "s3cr3t-value-xyz"), ("SHORT", "abc")])
        let found = try scanner.scan(patch: Self.patch).map { "\($0.kind) \($0.name ?? "-") \($0.file):\($0.line)" }
        #expect(
            found == [
                "aws_access_key - app.py:11", "github_token - app.py:12", "vault DB_PASSWORD app.py:14",
                "private_key - keys/id:1", "slack_token - keys/id:2", "api_key - keys/id:3",
            ])
        // Removed lines and context are not the change.
        #expect(
            try !SecretScanner(values: [("OLD", "old = 2")]).scan(patch: Self.patch).contains { $0.kind == "vault" })
        let redacted = SecretScanner.redact(Self.patch, values: [("DB_PASSWORD", "s3cr3t-value-xyz")])
        #expect(!redacted.contains("s3cr3t-value-xyz") && redacted.contains("[vault secret DB_PASSWORD]"))
        // Problems name the secret, never its value.
        let problems = try scanner.scan(patch: Self.patch).map(\.problem).joined()
        #expect(problems.contains("DB_PASSWORD") && !problems.contains("s3cr3t-value-xyz"))
    }

    @Test(arguments: [nil, "", "# Mine\n", "# No newline at the end"])
    func instructionsComeOutOfTheFileAgain(original: String?) {
        let instructions = "### From the repository policy\n\nBe brief.\n"
        let written = SessionService.withInstructions(original, instructions)
        #expect(written.hasPrefix(original ?? ""))
        #expect(
            SessionService.withoutInstructions(written, original: original, instructions)
                == original.flatMap { $0.isEmpty ? nil : $0 })
        // What the agent adds after the block stays, and only that.
        let edited = written + "Agent line.\n"
        #expect(
            SessionService.withoutInstructions(edited, original: original, instructions) == (original ?? "")
                + "Agent line.\n")
    }

    @Test func gitHubOriginsNameTheirRepository() throws {
        let github = try GitHubPullRequests()
        #expect(
            github.repository(of: "https://github.com/acme/widgets.git").map { "\($0.owner)/\($0.name)" }
                == "acme/widgets")
        #expect(github.repository(of: "git@github.com:acme/widgets").map { "\($0.owner)/\($0.name)" } == "acme/widgets")
        #expect(github.repository(of: "https://gitlab.com/acme/widgets.git") == nil)
        #expect(github.repository(of: "https://github.com/acme") == nil)
        #expect(throws: PaddockError.self) { try GitHubPullRequests(apiURL: "ftp://x") }
    }

    @Test(arguments: ["-main", "a..b", "a b", "x.lock", "", "ref@{1}", "a:b"])
    func badBranchNamesAreRefused(branch: String) {
        #expect(throws: PaddockError.self) { try SessionRepository(url: "/srv/repo.git", branch: branch).validate() }
    }

    @Test(arguments: ["--upload-pack=touch /tmp/x", "relative/path", "ext::sh -c touch% /tmp/pwned"])
    func badRepositoryURLsAreRefused(url: String) {
        #expect(throws: PaddockError.self) { try SessionRepository(url: url, branch: "main").validate() }
    }

    @Test func reviewRoutesAreClassified() {
        #expect(RouteAuthorizer.requirement(method: .post, path: "/v1/sessions/abc/submit") == .session("abc", .submit))
        #expect(RouteAuthorizer.requirement(method: .post, path: "/v1/reviews/rabc/approve") == .authenticated)
    }
}
