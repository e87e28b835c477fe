import Foundation
import PaddockCore
import Testing

@testable import PaddockConfig

/// runtime.yml values that once trapped the loader, and random mutations of a full file: the loader returns a
/// config whose values are all within bounds, or a located error — never a crash.
struct ConfigFuzzTests {
    @Test(arguments: [
        ("compute: {idle: 1e309}", "compute.idle"), ("compute: {idle: nan}", "compute.idle"),
        ("compute: {timeout: 9000000d}", "maximum"), ("compute: {timeout: 99999999999999999999d}", "maximum"),
        ("compute: {timeout: inf}", "compute.timeout"), ("compute: {cpu: nan}", "compute.cpu"),
        ("compute: {cpu: .inf}", "compute.cpu"), ("compute: {cpu: 0.001}", "0.01"),
        ("compute: {memory: 1e309GiB}", "compute.memory"), ("compute: {memory: 99999999TiB}", "compute.memory"),
        ("compute: {disk: 100000TiB}", "maximum"), ("compute: {pids: 1e10}", "compute.pids"),
        ("compute: {pids: 99999999999999999999}", "compute.pids"),
    ])
    func outOfRangeValuesAreLocatedErrors(line: String, mentions: String) {
        do {
            let config = try RuntimeConfig.parse("version: 1\n\(line)\n")
            Issue.record("\(line) loaded: \(config.compute)")
        } catch {
            #expect(error.line == 2, "\(error)")
            #expect(error.message.contains(mentions), "\(error)")
        }
    }

    @Test func mutatedFilesLoadWithinBoundsOrFailWithALocation() {
        let seed = ProcessInfo.processInfo.environment["PADDOCK_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x00C0_FFEE
        var rng = SeededGenerator(seed: seed)
        let values = [
            "nan", "inf", "-.inf", ".nan", "1e309", "-1", "0", "0.0001", "99999999999999999999d", "9000000d",
            "3000000d",
            "1.5", "~", "[]", "{}", "\"\\0\"", "16EiB", "99999999TiB", "-5m", "10m", "2GiB", "512", "''", "x: y",
            String(repeating: "9", count: 500), "&a", "*a", "!!binary aGk=", "[1, [2, [3]]]",
        ]
        let lines = designExample.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for iteration in 0..<2000 {
            var mutated = lines
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let index = Int.random(in: 0..<mutated.count, using: &rng)
                var line = mutated[index]
                switch Int.random(in: 0..<4, using: &rng) {
                case 0:
                    // Replace a value after a ':' with an interesting one.
                    if let colon = line.lastIndex(of: ":") {
                        line = String(line[...colon]) + " " + (values.randomElement(using: &rng) ?? "")
                    }
                case 1:
                    // Inside a flow mapping such as `compute: {cpu: 2, ...}`: swap one value.
                    line = line.replacingOccurrences(
                        of: ["2", "2GiB", "4GiB", "512", "30m", "10m", "100"].randomElement(using: &rng) ?? "2",
                        with: values.randomElement(using: &rng) ?? "")
                case 2:
                    if !line.isEmpty {
                        var scalars = Array(line.unicodeScalars)
                        let at = Int.random(in: 0..<scalars.count, using: &rng)
                        scalars[at] = Unicode.Scalar(UInt8.random(in: 0...127, using: &rng))
                        line = String(String.UnicodeScalarView(scalars))
                    }
                default:
                    line = String(line.prefix(Int.random(in: 0...line.count, using: &rng)))
                }
                mutated[index] = line
            }
            let text = mutated.joined(separator: "\n")
            do {
                let config = try RuntimeConfig.parse(text)
                let limits = config.compute.resourceLimits()
                let inBounds =
                    limits.cpus.isFinite && limits.cpus >= ResourceLimits.minCPUs
                    && limits.cpus <= ResourceLimits.maxCPUs
                    && limits.memory <= ResourceLimits.maxBytes && limits.disk <= ResourceLimits.maxBytes
                    && ResourceLimits.pidRange.contains(limits.pids)
                    && (config.compute.timeout.map { $0.value > .zero && $0.value <= DurationText.maximum } ?? true)
                    && (config.compute.idle.map { $0.value > .zero && $0.value <= DurationText.maximum } ?? true)
                #expect(inBounds, "fuzz seed \(seed) iteration \(iteration) loaded out of bounds: \(limits)\n\(text)")
            } catch {
                #expect(error.line >= 1 && error.column >= 1, "fuzz seed \(seed) iteration \(iteration): \(error)")
            }
        }
    }
}

/// xorshift64*: deterministic, so a failing input reproduces from its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
