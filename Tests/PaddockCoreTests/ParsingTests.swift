import Testing

@testable import PaddockCore

struct ByteSizeTests {
    @Test(arguments: [
        ("512MiB", UInt64(512) << 20), ("1GiB", 1 << 30), ("1G", 1 << 30), ("100M", 100 << 20), ("4096", 4096),
        ("1.5GiB", 3 << 29), ("10KB", 10_000), ("2 GiB", 2 << 30), ("1gb", 1_000_000_000), ("0", 0),
    ])
    func parses(text: String, bytes: UInt64) throws {
        #expect(try ByteSize(parsing: text).bytes == bytes)
    }

    @Test(arguments: ["", "abc", "12XB", "-1G", "1e40G", "GiB"])
    func rejectsWithAHint(text: String) {
        #expect {
            try ByteSize(parsing: text)
        } throws: { error in
            let e = error as? PaddockError
            return e?.code == .invalidArgument
                && (e?.message.contains("MiB") ?? false || e?.message.contains("large") ?? false)
        }
    }

    @Test func printsTheLargestExactUnit() throws {
        #expect(ByteSize(bytes: 512 << 20).description == "512MiB")
        #expect(ByteSize(bytes: 1 << 30).description == "1GiB")
        #expect(ByteSize(bytes: 1000).description == "1000B")
    }
}

struct DurationTextTests {
    @Test(arguments: [
        ("30s", Int64(30_000)), ("10m", 600_000), ("1h30m", 5_400_000), ("250ms", 250), ("2d", 172_800_000),
        ("45", 45_000), ("1.5s", 1500),
    ])
    func parses(text: String, ms: Int64) throws {
        #expect(try DurationText.parse(text).milliseconds == ms)
    }

    @Test(arguments: ["", "10x", "m", "10m5", "ten seconds"])
    func rejects(text: String) {
        #expect(throws: PaddockError.self) { try DurationText.parse(text) }
    }

    @Test func formatsRoundTrip() throws {
        for text in ["30s", "10m", "1h30m", "250ms", "2d"] {
            #expect(DurationText.format(try DurationText.parse(text)) == text)
        }
    }
}

struct SessionIDTests {
    @Test func randomIDsAreValidAndDistinct() {
        let ids = (0..<1000).map { _ in SessionID.random() }
        #expect(Set(ids).count == 1000)
        for id in ids {
            #expect(SessionID(rawValue: id.rawValue) != nil)
            #expect(id.rawValue.count == 16)
            #expect(id.rawValue.first?.isLetter == true)
        }
    }

    @Test(arguments: ["", "ABC", "a-b", "a b", "../etc", String(repeating: "a", count: 64), "a/b", "é"])
    func rejectsUnsafeIDs(text: String) {
        #expect(SessionID(rawValue: text) == nil)
    }
}

struct SessionSpecTests {
    @Test func defaultsAreValid() throws {
        try SessionSpec().validate()
    }

    @Test(arguments: [
        (SessionSpec(limits: .init(memory: .mebibytes(1), cpus: 1, pids: 100, disk: .gibibytes(1))), "memory"),
        (SessionSpec(limits: .init(memory: .gibibytes(1), cpus: 0, pids: 100, disk: .gibibytes(1))), "cpus"),
        (SessionSpec(limits: .init(memory: .gibibytes(1), cpus: 1, pids: 2, disk: .gibibytes(1))), "pids"),
        (SessionSpec(env: ["A=B": "x"]), "environment variable"),
        (SessionSpec(ttlSeconds: 0), "ttl"),
        (SessionSpec(workdir: "relative"), "absolute"),
        (SessionSpec(template: "../x"), "template"),
    ])
    func invalidSpecsSayWhatToChange(spec: SessionSpec, mentions: String) {
        #expect {
            try spec.validate()
        } throws: { error in
            (error as? PaddockError)?.message.contains(mentions) == true
        }
    }

    @Test func descriptionNeverContainsEnvironmentValues() {
        let secret = "sk-live-0123456789abcdef"
        let spec = SessionSpec(env: ["API_KEY": secret, "OTHER": "v"])
        let session = Session(
            id: .random(), state: .running, spec: spec, createdAt: .init(), updatedAt: .init(), expiresAt: nil)
        #expect(!"\(spec)".contains(secret))
        #expect(!"\(session)".contains(secret))
        #expect("\(spec)".contains("API_KEY"))
    }
}
