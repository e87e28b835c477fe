import ArgumentParser
import Foundation
import PaddockCLI

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Paddock against peers (bwrap, runc, runsc) on this machine, in one run.")
    @OptionGroup var output: OutputOptions
    @Option(help: "Samples per measurement.") var iterations: Int = 30
    @Option(help: "Data directory for the benchmark's own sandboxes.") var dataDir: String = ".paddock-bench"
    @Option(help: "Path of the paddock-init binary (default: next to this executable).") var initBinary: String?
    @Flag(help: "Fill the host with idle sessions instead, and report memory per session and leaks.") var density =
        false
    @Option(help: "With --density: how many idle sessions to start.") var sessions: Int = 500
    @Option(
        help: ArgumentHelp(
            "Measure only these groups (comma-separated): "
                + Benchmarks.Group.allCases.map(\.rawValue).joined(separator: ", ") + ".", valueName: "groups"))
    var only: [String] = []
    @Option(help: "With the repo group: files per generated repository (comma-separated; ~4 KiB each).")
    var repoFiles: String = "20000,100000"

    func run() async throws {
        if density {
            let report = try await DensityBenchmark(
                target: max(1, sessions), dataDirectory: URL(fileURLWithPath: dataDir).standardizedFileURL.path,
                initBinary: initBinary ?? ServerCommand.siblingInit()
            ).run()
            if output.json { return try printJSON(report) }
            return print(report.table())
        }
        let groups: Set<Benchmarks.Group>
        do { groups = try Benchmarks.Group.parse(only) } catch { throw ValidationError(error.message) }
        let counts = repoFiles.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--repo-files takes positive file counts, such as 20000,100000")
        }
        let report = try await Benchmarks(
            iterations: max(3, iterations), dataDirectory: URL(fileURLWithPath: dataDir).standardizedFileURL.path,
            initBinary: initBinary ?? ServerCommand.siblingInit(), groups: groups, repoFiles: counts
        ).run()
        if output.json { return try printJSON(report) }
        print(report.table())
    }
}
