import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// What the agent changed, unified or side by side, and Submit for review with each check's result.
extension WebRoutes {
    struct ChangesPage: Sendable {
        var chrome: Chrome
        var id: String
        var files: [UnifiedDiff.File]
        var fileList: [ChangeDiff.File]
        var linesChanged: Int
        var truncated: Bool
        var violations: [String]
        /// Generated or binary files the change carries (kept), and files the policy left out of it.
        var warnings: [String]
        /// The left-out files, one line.
        var excluded: String?
        var sideBySide: Bool
        var report: SubmitView?
        var hasFiles: Bool
    }

    struct SubmitView: Sendable {
        var submitted: Bool
        var problems: [String]
        var checks: [CheckView]
        var secrets: [String]
        /// The review it opened, when it was submitted.
        var review: String?
    }

    struct CheckView: Sendable {
        var command: String
        var passed: Bool
        var exitCode: Int32
        var output: String
    }

    /// The files `review:` in the policy left out of a change, as one line; nil when none were.
    static func excludedLine(_ diff: ChangeDiff?) -> String? {
        guard let excluded = diff?.excluded, !excluded.isEmpty else { return nil }
        let shown = excluded.prefix(20).joined(separator: ", ")
        return shown + (excluded.count > 20 ? " and \(excluded.count - 20) more" : "")
    }

    func changes(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let id = try sessionID(context)
        let diff = try await ChangeService(sessions: sessions).diff(id, by: person.caller)
        return try pages.page(
            "changes",
            ChangesPage(
                chrome: try await chrome(person, tab: "sessions"), id: id.rawValue,
                files: UnifiedDiff(diff.patch ?? "").files,
                fileList: diff.files, linesChanged: diff.linesChanged, truncated: diff.patchTruncated == true,
                violations: diff.violations, warnings: diff.warnings ?? [], excluded: Self.excludedLine(diff),
                sideBySide: request.uri.queryParameters.get("view") == "split",
                report: nil, hasFiles: !diff.files.isEmpty))
    }

    func submit(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let id = try sessionID(context)
        let form = try await FormFields.read(request)
        let message = form["message"].flatMap { $0.isEmpty ? nil : $0 }
        let outcome = try await ChangeService(sessions: sessions).submit(
            id, message: message, branch: nil, by: person.caller)
        let report = outcome.report
        let view = SubmitView(
            submitted: report.submitted, problems: report.problems,
            checks: report.checks.map {
                CheckView(command: $0.command, passed: $0.passed, exitCode: $0.exitCode, output: $0.output)
            },
            secrets: report.secrets.map { "\($0.file):\($0.line) — \($0.name ?? $0.kind)" },
            review: outcome.review?.id)
        return try pages.page(
            "changes",
            ChangesPage(
                chrome: try await chrome(person, tab: "sessions"), id: id.rawValue,
                files: UnifiedDiff(report.diff.patch ?? "").files, fileList: report.diff.files,
                linesChanged: report.diff.linesChanged, truncated: report.diff.patchTruncated == true,
                violations: report.diff.violations, warnings: report.diff.warnings ?? [],
                excluded: Self.excludedLine(report.diff), sideBySide: false, report: view,
                hasFiles: !report.diff.files.isEmpty))
    }
}
