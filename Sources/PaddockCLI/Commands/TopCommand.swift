import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

/// `paddock top [--json] [--interval 2s] [SESSION]`: a live table of running sessions — CPU, memory, disk and
/// network — redrawn in place from the server's resource stream until interrupted; `--json` prints one reading.
struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top", abstract: "Live CPU, memory, disk and network of running sessions (Ctrl-C to quit).")
    @Argument(help: "Only this session.") var session: String?
    @Option(help: "Time between readings (500ms, 2s, 10s).") var interval: String = "2s"
    @Option(help: "Stop after this many readings (default: until interrupted).") var count: Int?
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let client = try APIClient.fromEnvironment()
        let base = session.map { "/v1/sessions/\($0)/resources" } ?? "/v1/resources"
        if output.json { return try printJSON(try await client.call(.GET, base, as: ResourceSnapshot.self)) }
        let path = base + "?" + APIClient.query(["follow": "1", "interval": interval])
        var seen = 0
        do {
            try await client.streamLines(.GET, path) { line in
                let reading = try APICoding.decoder().decode(ResourceSnapshot.self, from: line)
                // Home and clear-to-end: the table is redrawn where it was, with no scrollback per reading.
                // Written unbuffered, whole: the screen shows each reading at once.
                FileHandle.standardOutput.write(Data(("\u{1B}[H\u{1B}[2J" + Self.table(reading)).utf8))
                seen += 1
                if let count, seen >= count { throw Done() }
            }
        } catch is Done {}
    }

    private struct Done: Error {}

    static func table(_ reading: ResourceSnapshot) -> String {
        var lines = [
            "paddock top — \(reading.sessions.count) running session(s) at \(ISO8601DateFormatter().string(from: reading.at))",
            "",
            [
                "SESSION".padding(16), "NAME".padding(14), "TEAM".padding(10), "CPU%".padding(6), "MEMORY".padding(19),
                "DISK".padding(19), "PIDS".padding(5), "NET UP".padding(9), "NET DOWN",
            ].joined(separator: " "),
        ]
        for s in reading.sessions {
            lines.append(
                [
                    s.session.rawValue.padding(16), String((s.name ?? "-").prefix(14)).padding(14),
                    String((s.team ?? "-").prefix(10)).padding(10),
                    (s.cpuPercent.map { String(format: "%.1f", $0) } ?? "-").padding(6),
                    "\(human(s.memoryBytes))/\(human(s.memoryLimitBytes))".padding(19),
                    "\(human(s.diskUsedBytes))/\(human(s.diskLimitBytes))".padding(19), String(s.pids).padding(5),
                    human(UInt64(max(0, s.networkUpBytes))).padding(9), human(UInt64(max(0, s.networkDownBytes))),
                ].joined(separator: " "))
        }
        if reading.sessions.isEmpty { lines.append("(no running sessions)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Bytes in the largest binary unit that keeps one digit before the point.
    static func human(_ bytes: UInt64) -> String {
        if bytes == 0 { return "0" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes)B" : String(format: "%.1f", value) + units[unit]
    }
}
