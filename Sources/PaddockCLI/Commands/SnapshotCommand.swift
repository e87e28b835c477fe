import ArgumentParser
import PaddockAPI

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Seal a session's files as a snapshot, list and remove snapshots.",
        discussion: """
            A snapshot keeps a session's files (what it changed over its template), and with `--keeps processes`
            (gVisor sessions, where `paddock doctor` says checkpoint works) its running processes too.
            Start sessions from one with `paddock session create --from-snapshot NAME`.
            """,
        subcommands: [Create.self, List.self, Remove.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Snapshot a running or paused session (it is frozen only while its files are copied).")
        @Argument(help: "Session id.") var id: String
        @Option(help: "A unique name to start sessions from.") var name: String?
        @Option(help: "files (the default), or processes: sessions started from it continue its processes (gVisor).")
        var keeps = "files"
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let s = try await APIClient.fromEnvironment().call(
                .POST, "/v1/sessions/\(id)/snapshots", json: CreateSnapshotBody(name: name, keeps: keeps),
                as: SnapshotBody.self)
            if output.json { return try printJSON(s) }
            let name = s.name.map { " (\($0))" } ?? ""
            let processes = s.keeps == "processes" ? " and its running processes" : ""
            print("\(s.id)\(name): \(s.entries) entries, \(s.bytes) bytes of files\(processes)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List snapshots, newest first.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(.GET, "/v1/snapshots", as: SnapshotListBody.self)
            if output.json { return try printJSON(list) }
            print("ID                NAME                  SESSION           BYTES        CREATED")
            for s in list.snapshots {
                print(
                    [
                        s.id.padding(16), (s.name ?? "-").padding(20), s.session.padding(16), "\(s.bytes)".padding(11),
                        format(s.createdAt),
                    ].joined(separator: "  "))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove snapshots and their files; sessions started from them keep their own copies.")
        @Argument(help: "Snapshot ids or names.") var names: [String]

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for name in names {
                let s = try await client.call(.DELETE, "/v1/snapshots/\(name)", as: SnapshotBody.self)
                print("removed \(s.id)")
            }
        }
    }
}
