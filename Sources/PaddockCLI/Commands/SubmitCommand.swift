import ArgumentParser
import Foundation
import PaddockAPI

/// `paddock submit ID [--message M] [--branch NAME]`: the session's change as a commit on its own branch of the
/// origin, after the guardrails, the secret scan and the checks passed; opens a review.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Commit a repository session's change on paddock/<session>, push it and open a review.",
        discussion:
            "Before anything leaves: changes.max_lines and protected_branches, a secret scan of the diff and the "
            + "repository's checks: commands (run in the sandbox). Exit code 1 when any of them blocks the submit.")
    @Argument(help: "Session id.") var id: String
    @Option(help: "The commit message.") var message: String?
    @Option(help: "The branch to push (default paddock/<session>).") var branch: String?
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let result = try await APIClient.fromEnvironment().call(
            .POST, "/v1/sessions/\(id)/submit", json: SubmitRequestBody(message: message, branch: branch),
            as: SubmitBody.self)
        if output.json {
            try printJSON(result)
        } else {
            print(Self.report(result), terminator: "")
        }
        if !result.submitted { throw CommandExit(code: 1) }
    }

    /// The readable report: files, checks, findings, then the verdict.
    static func report(_ r: SubmitBody) -> String {
        var out = ""
        out += "diff: \(r.diff.files.count) files, \(r.diff.linesChanged) lines changed against \(r.diff.base)\n"
        for file in r.diff.files {
            let lines = file.binary ? "binary" : "+\(file.linesAdded) -\(file.linesRemoved)"
            out += "  \(file.status.padding(8)) \(lines.padding(12)) \(file.path)\n"
        }
        for warning in r.diff.warnings ?? [] { out += "warning: \(warning)\n" }
        if let excluded = r.diff.excluded, !excluded.isEmpty {
            out += "left out by the policy's review: setting: \(excluded.joined(separator: ", "))\n"
        }
        for check in r.checks {
            out += "check: \(check.passed ? "passed" : "FAILED (exit \(check.exitCode))") `\(check.command)` "
            out += "(\(check.ms) ms)\n"
            if !check.passed {
                for line in check.output.split(separator: "\n", omittingEmptySubsequences: false).suffix(20) {
                    out += "  | \(line)\n"
                }
            }
        }
        for finding in r.secrets {
            let what = finding.kind == "vault" ? "vault secret \(finding.name ?? "?")" : finding.kind
            out += "secret: \(what) at \(finding.file):\(finding.line)\n"
        }
        if r.submitted, let review = r.review {
            out += "submitted: \(review.branch) at \(review.commit.prefix(12)) on \(review.repository)\n"
            out += "review: \(review.id) (`paddock reviews show \(review.id)`; approve merges into "
            out += "\(review.targetBranch))\n"
            if let pr = review.pullRequest { out += "pull request: \(pr)\n" }
        } else {
            out += "blocked: nothing was pushed\n"
            for problem in r.problems { out += "  - \(problem)\n" }
        }
        return out
    }
}
