import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

/// `paddock reviews list|show|approve|reject|merge`: the queue of submitted changes.
struct ReviewsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reviews", abstract: "List, inspect and decide submitted changes.",
        discussion: "Approving merges the change into its target branch on the origin (needs the approve permission).",
        subcommands: [List.self, Show.self, Approve.self, Reject.self, Merge.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show open reviews (all of them with --all).")
        @OptionGroup var filter: QueueFilter
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(
                .GET, filter.path("/v1/reviews"), as: ReviewListBody.self)
            if output.json { return try printJSON(list) }
            print(ReviewsCommand.table(list.reviews, all: filter.all), terminator: "")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a review: the diff, the checks, the agent runs and the session's audit timeline.")
        @Argument(help: "Review id.") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let detail = try await APIClient.fromEnvironment().call(
                .GET, "/v1/reviews/\(id)", as: ReviewDetailBody.self)
            if output.json { return try printJSON(detail) }
            print(ReviewsCommand.detail(detail), terminator: "")
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve and merge into the target branch.")
        @Argument(help: "Review id.") var id: String
        @Option(help: "Why (kept with the decision).") var note: String?
        @OptionGroup var output: OutputOptions

        func run() async throws { try await decide(id, "approve", note: note, json: output.json) }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject: nothing is merged.")
        @Argument(help: "Review id.") var id: String
        @Option(help: "Why (kept with the decision).") var note: String?
        @OptionGroup var output: OutputOptions

        func run() async throws { try await decide(id, "reject", note: note, json: output.json) }
    }

    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Retry the merge of an approved review.")
        @Argument(help: "Review id.") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws { try await decide(id, "merge", note: nil, json: output.json) }
    }

    static func decide(_ id: String, _ action: String, note: String?, json: Bool) async throws {
        let review = try await APIClient.fromEnvironment().call(
            .POST, "/v1/reviews/\(id)/\(action)", json: ReviewDecisionBody(note: note), as: ReviewBody.self)
        if json { return try printJSON(review) }
        switch review.state {
        case "merged":
            print("review \(review.id) merged into \(review.targetBranch) at \(review.mergeCommit?.prefix(12) ?? "?")")
        default:
            print("review \(review.id) is \(review.state)\(review.note.map { " (\($0))" } ?? "")")
        }
    }

    static func table(_ reviews: [ReviewBody], all: Bool) -> String {
        if reviews.isEmpty { return all ? "no reviews\n" : "no review is waiting for a decision\n" }
        var out = "ID                STATE     SESSION           TARGET        LINES  FILES  BY\n"
        for r in reviews {
            out +=
                [
                    r.id.padding(16), r.state.padding(8), r.session.padding(16), r.targetBranch.padding(12),
                    String(r.linesChanged).padding(5), String(r.filesChanged).padding(5), r.createdBy ?? "-",
                ].joined(separator: "  ") + "\n"
            out += "                  \(r.message.split(separator: "\n").first.map(String.init) ?? "")\n"
        }
        return out
    }

    static func detail(_ d: ReviewDetailBody) -> String {
        let r = d.review
        var out = "review:   \(r.id) (\(r.state))\(r.problem.map { " — \($0)" } ?? "")\n"
        out += "session:  \(r.session)   team: \(r.team ?? "-")   by: \(r.createdBy ?? "-")\n"
        out += "repo:     \(r.repository)\n"
        out += "branch:   \(r.branch) at \(r.commit.prefix(12)) → \(r.targetBranch) (base \(r.base.prefix(12)))\n"
        if let merged = r.mergeCommit { out += "merged:   \(merged.prefix(12))\n" }
        if let pr = r.pullRequest { out += "pull request: \(pr)\n" }
        if let decided = r.decidedBy { out += "decided:  by \(decided)\(r.note.map { ": \($0)" } ?? "")\n" }
        out += "message:  \(r.message)\n"
        if let report = d.report {
            out += "\n## Checks\n"
            if report.checks.isEmpty { out += "(the policy has no checks:)\n" }
            for c in report.checks { out += "\(c.passed ? "passed" : "FAILED") `\(c.command)` (\(c.ms) ms)\n" }
            out += "\n## Agent runs\n"
            if d.runs.isEmpty { out += "(none recorded)\n" }
            for run in d.runs { out += Self.runLine(run) + "\n" }
            out += "\n## Diff (\(report.diff.files.count) files, \(report.diff.linesChanged) lines)\n"
            for warning in report.diff.warnings ?? [] { out += "warning: \(warning)\n" }
            if let excluded = report.diff.excluded, !excluded.isEmpty {
                out += "left out by the policy's review: setting: \(excluded.joined(separator: ", "))\n"
            }
            out += report.diff.patch ?? ""
        }
        out += "\n## Audit timeline\n"
        for e in d.audit {
            let fields = e.fields.keys.sorted().map { "\($0)=\(e.fields[$0].map { "\($0)" } ?? "")" }
            out += "\(e.seq.description.padding(4)) \(format(Date(timeIntervalSince1970: Double(e.at) / 1000))) "
            out += "\(e.kind.padding(18)) \(e.actor)  \(fields.joined(separator: " "))\n"
        }
        return out
    }
}

extension ReviewsCommand {
    /// One agent run of the session: `<id> <status> <agent> $<cost> "<prompt>"`.
    static func runLine(_ run: Run) -> String {
        let short = run.prompt.count > 60 ? String(run.prompt.prefix(57)) + "..." : run.prompt
        return "\(run.id) \(run.status.rawValue) \(run.agent) $\(String(format: "%.4f", run.costUSD)) \"\(short)\""
    }
}
