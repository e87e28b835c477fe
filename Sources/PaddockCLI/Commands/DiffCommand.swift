import ArgumentParser
import Foundation
import PaddockCore

/// `paddock diff ID [--check]`: the session's change and whether it passes the policy's `changes:` rules.
struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show a session's changed files; --check enforces changes.max_lines and protected_branches.",
        discussion: "With --check the exit code is 1 when the change breaks the session's policy.")
    @Argument(help: "Session id.") var id: String
    @Flag(help: "Exit 1 when the change breaks the session's `changes:` policy.") var check = false
    @Flag(help: "Print the unified diff too (repository sessions).") var patch = false
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let diff = try await APIClient.fromEnvironment().call(.GET, "/v1/sessions/\(id)/diff", as: ChangeDiff.self)
        if output.json {
            try printJSON(diff)
        } else {
            print("base: \(diff.base)")
            for file in diff.files {
                let lines = file.binary ? "binary" : "+\(file.linesAdded) -\(file.linesRemoved)"
                print("  \(file.status.padding(8)) \(lines.padding(12)) \(file.path)")
            }
            var limit = ""
            if let max = diff.maxLines { limit = " (max_lines \(max))" }
            print("\(diff.files.count) files, \(diff.linesChanged) lines changed\(limit)")
            if let branch = diff.branch { print("branch: \(branch)") }
            if let pushed = diff.submitBranch { print("submit branch: \(pushed)") }
            for warning in diff.warnings ?? [] { print("warning: \(warning)") }
            if let excluded = diff.excluded, !excluded.isEmpty {
                print("left out by the policy's review: setting: \(excluded.joined(separator: ", "))")
            }
            if patch, let text = diff.patch {
                print(text, terminator: text.hasSuffix("\n") || text.isEmpty ? "" : "\n")
                if diff.patchTruncated == true { print("(the diff is cut here; --json has the file list)") }
            }
            if check {
                if diff.violations.isEmpty {
                    print("check: ok")
                } else {
                    for problem in diff.violations { print("check: \(problem)") }
                }
            }
        }
        if check && !diff.violations.isEmpty { throw CommandExit(code: 1) }
    }
}
