import Testing

@testable import PaddockCore

/// Every number, duration and size a client can send is parsed with bounds: no input traps, and every refusal
/// names the field and the limit.
struct BoundedParsingTests {
    @Test(arguments: [
        "nan", "NaN", "inf", "-inf", "infinity", "1e309", "1e3", "-5", "+5", "-1s", "0x10", "1..5s", "1.2.3s", ".",
        "s", "5 s", "١٠s", "10sm", "1h-30m", String(repeating: "9", count: 400),
        String(repeating: "9", count: 60) + "s",
    ])
    func durationsRejectNonFiniteSignedAndMalformedText(text: String) {
        #expect(throws: PaddockError.self) { try DurationText.parse(text) }
    }

    @Test(arguments: ["99999999999999999999d", "3000000d", "100000000h", "36501d", "3153600001", "9000000d"])
    func durationsOverOneHundredYearsSayTheMaximum(text: String) {
        #expect {
            try DurationText.parse(text)
        } throws: { error in
            let message = (error as? PaddockError)?.message ?? ""
            return message.contains("maximum") && message.contains("36500d")
        }
    }

    @Test func theMaximumItselfParses() throws {
        #expect(try DurationText.parse("36500d") == DurationText.maximum)
        #expect(try DurationText.parse("0") == .zero)
        #expect(try DurationText.parse(".5s").milliseconds == 500)
    }

    @Test func millisecondsSaturateInsteadOfTrapping() {
        #expect(Duration.seconds(Int64.max).milliseconds == .max)
        #expect(Duration.seconds(Int64.min).milliseconds == .min)
        #expect(Duration.seconds(5).milliseconds == 5000)
    }

    @Test(arguments: ["nan", "inf", "1e309", "99999999999999999999999TiB", String(repeating: "9", count: 400)])
    func sizesRejectNonFiniteAndHugeValues(text: String) {
        #expect(throws: PaddockError.self) { try ByteSize(parsing: text) }
    }

    /// Random text through every parser: each returns or throws, never traps.
    @Test func randomTextNeverTraps() {
        var rng = SeededGenerator(seed: 0x5EED_0001)
        let alphabet = Array("0123456789.eE+-smhdkKMGTiBnaNfI x\u{0}é")
        for _ in 0..<5000 {
            let text = String(
                (0..<Int.random(in: 0...24, using: &rng)).map { _ in alphabet.randomElement(using: &rng) ?? "0" })
            _ = try? DurationText.parse(text)
            _ = try? ByteSize(parsing: text)
        }
    }
}

struct InputLimitsTests {
    @Test(arguments: [
        ("", "name must be 1 to 200 bytes"), (String(repeating: "n", count: 201), "200 bytes"),
        (String(repeating: "n", count: 10_000), "200 bytes"), ("a\0b", "NUL"), ("two\nlines", "one line"),
    ])
    func namesAreBounded(name: String, mentions: String) {
        #expect {
            try SessionSpec(name: name).validate()
        } throws: { error in
            (error as? PaddockError)?.message.contains(mentions) == true
        }
    }

    @Test(arguments: [
        ("/proc/1/root", "/proc"), ("/proc", "/proc"), ("/sys/fs", "/sys"), ("/dev/shm", "/dev"), ("work", "absolute"),
        ("/workspace/../proc/1", "'..'"), ("/workspace/./x", "'.'"), ("/work\0space", "NUL"), ("/a\nb", "newline"),
        ("/" + String(repeating: "d", count: 5000), "4096"), ("//proc//1", "/proc"),
    ])
    func workdirsInsideTheSandboxOnly(workdir: String, mentions: String) {
        #expect {
            try SessionSpec(workdir: workdir).validate()
        } throws: { error in
            let message = (error as? PaddockError)?.message ?? ""
            return message.contains("workdir") && message.contains(mentions)
        }
    }

    @Test(arguments: ["/workspace", "/", "/home/user/src", "/tmp", "/processes", "/sysroot", "/devices/x"])
    func ordinaryWorkdirsPass(workdir: String) throws {
        try SessionSpec(workdir: workdir).validate()
    }

    @Test func environmentIsBounded() throws {
        let cases: [([String: String], String)] = [
            (["A=B": "x"], "not valid"), (["": "x"], "not valid"), (["A\0": "x"], "not valid"),
            (["1A": "x"], "not valid"), (["A": "x\0y"], "NUL"),
            (["A": String(repeating: "v", count: 128 << 10)], "131071"),
            (Dictionary(uniqueKeysWithValues: (0..<1001).map { ("V\($0)", "x") }), "at most 1000"),
        ]
        for (env, mentions) in cases {
            #expect {
                try InputLimits.checkEnvironment(env, field: "env")
            } throws: { error in
                let message = (error as? PaddockError)?.message ?? ""
                return message.hasPrefix("env") && message.contains(mentions)
            }
            #expect(throws: PaddockError.self) { try SessionSpec(env: env).validate() }
        }
        try InputLimits.checkEnvironment(["PATH": "/bin", "_X": String(repeating: "v", count: 100_000)])
    }

    @Test func commandLinesAreBounded() throws {
        try InputLimits.checkCommand(["sh", "-c", "true"], environment: ["A": "b"])
        let cases: [([String], [String: String], String)] = [
            ([], [:], "empty"), ([""], [:], "empty"),
            (["echo", String(repeating: "a", count: 1 << 20)], [:], "cmd[1]"),
            (["echo", "a\0b"], [:], "NUL"),
            (Array(repeating: "x", count: 10_001), [:], "10000"),
            (Array(repeating: String(repeating: "a", count: 100_000), count: 11), [:], "1 MiB"),
            (
                ["true"],
                Dictionary(uniqueKeysWithValues: (0..<10).map { ("V\($0)", String(repeating: "v", count: 120_000)) }),
                "1 MiB"
            ),
        ]
        for (argv, env, mentions) in cases {
            #expect {
                try InputLimits.checkCommand(argv, environment: env)
            } throws: { error in
                (error as? PaddockError)?.message.contains(mentions) == true
            }
        }
    }

    @Test(arguments: [
        (Int64(0), "positive"), (-1, "positive"), (InputLimits.maxDurationSeconds + 1, "maximum"),
        (400_000_000_000, "maximum"), (.max, "maximum"),
    ])
    func deadlinesAreBounded(seconds: Int64, mentions: String) {
        #expect {
            try InputLimits.checkDeadline(seconds: seconds, field: "timeout")
        } throws: { error in
            let message = (error as? PaddockError)?.message ?? ""
            return message.hasPrefix("timeout") && message.contains(mentions)
        }
        let withTTL = SessionSpec(ttlSeconds: seconds)
        #expect(throws: PaddockError.self) { try withTTL.validate() }
        var idle = SessionSpec()
        idle.idleSeconds = seconds
        let withIdle = idle
        #expect(throws: PaddockError.self) { try withIdle.validate() }
    }

    @Test(arguments: [0.0001, 0.009, 0, -1, 1025, Double.nan, Double.infinity])
    func cpusHaveAMinimumAndAMaximum(cpus: Double) {
        #expect {
            try ResourceLimits(memory: .gibibytes(1), cpus: cpus, pids: 64, disk: .gibibytes(1)).validate()
        } throws: { error in
            let message = (error as? PaddockError)?.message ?? ""
            return message.contains("cpus must be between 0.01 and 1024")
        }
    }

    @Test func sizesHaveAMaximum() {
        let huge = ByteSize(bytes: UInt64.max)
        #expect(throws: PaddockError.self) {
            try ResourceLimits(memory: huge, cpus: 1, pids: 64, disk: .gibibytes(1)).validate()
        }
        #expect(throws: PaddockError.self) {
            try ResourceLimits(memory: .gibibytes(1), cpus: 1, pids: 64, disk: huge).validate()
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
