import ArgumentParser
import PaddockAPI

extension SessionCommand {
    struct Fork: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start new sessions with a session's current files and settings.",
            discussion: """
                Each child gets its own writable copy: what one changes, its siblings and the parent do not see.
                Files are copied; running processes are not (children start with fresh processes), unless
                `--keeps processes` (gVisor sessions): then each child continues the parent's processes from the
                moment of the fork. The parent is frozen only while its files (and processes) are copied.
                """)
        @Argument(help: "The session to fork.") var id: String
        @Option(help: "How many children to start (1 to 100).") var count = 1
        @Option(help: "files (the default), or processes: children continue the parent's processes (gVisor).")
        var keeps = "files"
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(
                .POST, "/v1/sessions/\(id)/fork", json: ForkBody(count: count, keeps: keeps), as: SessionListBody.self)
            if output.json { return try printJSON(list) }
            for child in list.sessions { print(child.id) }
        }
    }
}
