import ArgumentParser
import Foundation
import PaddockCore

/// `paddock audit show|verify|export ID`.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "A session's (or the organisation's) tamper-evident audit trail.",
        subcommands: [Show.self, Verify.self, Export.self])

    /// Where a trail is served: a session's, or the organisation's (`org`: people, teams, tokens, limits,
    /// secrets, templates, pools, emergency stops).
    static func path(_ id: String) -> String {
        id == SessionID.organization.rawValue ? "/v1/audit" : "/v1/sessions/\(id)/audit"
    }

    static func events(_ id: String) async throws -> [AuditEvent] {
        let data = try await APIClient.fromEnvironment().raw(.GET, path(id))
        return try data.split(separator: 0x0A).map { try AuditEvent.decode(canonical: Array($0)) }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The session's timeline: who did what, when.")
        @Argument(help: "Session id, or org for the organisation's trail.") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let events = try await AuditCommand.events(id)
            if output.json { return try printJSON(events) }
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            for e in events {
                let fields = e.fields.keys.sorted().map { "\($0)=\(e.fields[$0]?.description ?? "")" }
                print(
                    [
                        String(e.seq).padding(4), f.string(from: e.date), e.actor.user.padding(10),
                        e.kind.padding(15), fields.joined(separator: " "),
                    ].joined(separator: "  "))
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the hash chain; exits 1 and names the event if anything was edited, deleted, inserted "
                + "or reordered.")
        @Argument(help: "Session id, or org for the organisation's trail.") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let result = try await APIClient.fromEnvironment().call(
                .GET, AuditCommand.path(id) + "/verify", as: AuditVerification.self)
            if output.json { try printJSON(result) }
            if result.ok {
                if !output.json { print("ok: \(result.events) events, chain intact") }
                return
            }
            if !output.json {
                print("TAMPERED at event \(result.position.map(String.init) ?? "?"): \(result.problem ?? "")")
            }
            throw CommandExit(code: 1)
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the trail as JSON Lines: the SHA-256 of each line is the next line's prev.")
        @Argument(help: "Session id, or org for the organisation's trail.") var id: String

        func run() async throws {
            let data = try await APIClient.fromEnvironment().raw(.GET, AuditCommand.path(id))
            FileHandle.standardOutput.write(data)
        }
    }
}
