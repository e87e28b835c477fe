import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

/// `paddock approvals list|approve|deny`: answer what a policy's `ask` rules hold back.
struct ApprovalsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approvals", abstract: "List and answer approval requests (commands a policy asks about).",
        discussion: "The process that asked waits, blocked, until the request is answered or times out (denied).",
        subcommands: [List.self, Approve.self, Deny.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show open requests (all of them with --all).")
        @OptionGroup var filter: QueueFilter
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(
                .GET, filter.path("/v1/approvals"), as: ApprovalListBody.self)
            if output.json { return try printJSON(list) }
            if list.approvals.isEmpty {
                print(filter.all ? "no approval requests" : "nothing is waiting for an approval")
                return
            }
            print("ID            SESSION           STATE     EXPIRES               KIND  SUBJECT")
            for a in list.approvals {
                print(
                    [
                        a.id.padding(12), a.session.padding(16), a.state.padding(8), format(a.expiresAt).padding(20),
                        a.kind.padding(4), a.subject,
                    ].joined(separator: "  "))
                print("              \(a.rule)\(a.decidedBy.map { " — answered by \($0)" } ?? "")")
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let the held-back command run.")
        @Argument(help: "Approval id.") var id: String
        @Option(help: "Why (kept with the decision).") var note: String?
        @OptionGroup var output: OutputOptions

        func run() async throws { try await answerApproval(id: id, approve: true, note: note, json: output.json) }
    }

    struct Deny: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Refuse the held-back command (it fails with EPERM).")
        @Argument(help: "Approval id.") var id: String
        @Option(help: "Why (kept with the decision).") var note: String?
        @OptionGroup var output: OutputOptions

        func run() async throws { try await answerApproval(id: id, approve: false, note: note, json: output.json) }
    }

}

private func answerApproval(id: String, approve: Bool, note: String?, json: Bool) async throws {
    let a = try await APIClient.fromEnvironment().call(
        .POST, "/v1/approvals/\(id)/\(approve ? "approve" : "deny")", json: ApprovalAnswerBody(note: note),
        as: ApprovalBody.self)
    if json { return try printJSON(a) }
    print("\(a.state) \(a.id): \(a.subject)")
}
