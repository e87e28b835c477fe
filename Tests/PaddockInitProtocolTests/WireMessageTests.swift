import PaddockInitProtocol
import Testing

/// A message with a short name for test output (payloads can be 64 KiB).
struct Sample: Sendable, CustomTestStringConvertible {
    let message: WireMessage
    let testDescription: String

    init(_ message: WireMessage) {
        self.message = message
        let text = String(describing: message)
        testDescription = text.count > 60 ? String(text.prefix(60)) + "…" : text
    }
}

/// One value of every message, with fields that exercise the codec (empty, non-ASCII, negative, large).
let everyMessage: [WireMessage] = [
    .hello,
    .spawn(
        SpawnRequest(
            argv: ["sh", "-c", "echo ünïcødé"], env: ["PATH=/bin", "EMPTY="], cwd: "/work",
            user: WireUser(uid: 1000, gid: 100),
            tty: TerminalSize(rows: 40, cols: 132), stdin: true, detached: true, tag: "agent")),
    .spawn(SpawnRequest(argv: [], env: [], cwd: "", user: WireUser(uid: 0, gid: 0))),
    .attach(pid: 4242),
    .listProcesses,
    .readFile(path: "/etc/hosts", user: WireUser(uid: 1, gid: 2)),
    .writeFile(path: "/tmp/x", mode: 0o100644, append: true, user: WireUser(uid: UInt32.max, gid: 7)),
    .stat(path: "/", user: WireUser(uid: 0, gid: 0)),
    .listDir(path: "/home", depth: 3, user: WireUser(uid: 1000, gid: 1000)),
    .makeDir(path: "/a/b", user: WireUser(uid: 5, gid: 5)),
    .remove(path: "/a", user: WireUser(uid: 5, gid: 5)),
    .rename(from: "/a", to: "/b", user: WireUser(uid: 5, gid: 5)),
    .setMetadata(path: "/f", metadata: ["author": "ünï", "empty": ""], user: WireUser(uid: 5, gid: 5)),
    .setMetadata(path: "/f", metadata: [:], user: WireUser(uid: 0, gid: 0)),
    .signalProcess(pid: 12, signal: 15),
    .stdin([]),
    .stdin(Array(0...255)),
    .closeStdin,
    .signal(-1),
    .resize(TerminalSize(rows: 0, cols: UInt16.max)),
    .helloReply(version: wireProtocolVersion, pid: 1),
    .started(pid: Int32.max),
    .stdout(Array("out\n".utf8)),
    .stderr([0, 0xff]),
    .exited(code: 143, signal: 15),
    .exited(code: -1, signal: 0),
    .failure(code: "not_found", errno: 2, message: "command 'x' not found"),
    .ok,
    .files([]),
    .files([
        WireFileInfo(
            name: "f", path: "/f", kind: .file, size: UInt64.max, mode: 0o100644, uid: 1, gid: 2,
            mtimeNanos: -5),
        WireFileInfo(
            name: "l", path: "/l", kind: .symlink, size: 1, mode: 0o120777, uid: 0, gid: 0,
            mtimeNanos: 1_700_000_000_000_000_000,
            symlinkTarget: "f"),
        WireFileInfo(
            name: "m", path: "/m", kind: .file, size: 0, mode: 0o100600, uid: 0, gid: 0, mtimeNanos: 0,
            metadata: ["a": "1", "b": ""]),
    ]),
    .processes([]),
    .processes([WireProcessInfo(pid: 7, argv: ["sleep", "1"], cwd: "/", tag: nil, tty: true)]),
    .data(Array(repeating: 0xab, count: wireChunkSize)),
    .end,
]

@Suite("wire protocol")
struct WireMessageTests {
    @Test(arguments: everyMessage.map(Sample.init))
    func roundTripsThroughAFrame(_ sample: Sample) throws {
        let message = sample.message
        var decoder = FrameDecoder()
        decoder.append(message.framed())
        let payload = try #require(try decoder.next())
        #expect(try WireMessage(decoding: payload) == message)
        #expect(try decoder.next() == nil)
    }

    @Test(arguments: [1, 2, 3, 5, 7, 64, 4096, 1 << 20])
    func framesSurviveArbitraryChunkBoundaries(_ chunkSize: Int) throws {
        let stream = everyMessage.flatMap { $0.framed() }
        var decoder = FrameDecoder()
        var decoded: [WireMessage] = []
        var offset = 0
        while offset < stream.count {
            let end = min(offset + chunkSize, stream.count)
            decoder.append(stream[offset..<end])
            offset = end
            while let payload = try decoder.next() { decoded.append(try WireMessage(decoding: payload)) }
        }
        #expect(decoded == everyMessage)
    }

    @Test func anIncompleteFrameWaitsForMoreBytes() throws {
        let frame = WireMessage.stdout(Array("hello".utf8)).framed()
        var decoder = FrameDecoder()
        decoder.append(frame.dropLast())
        #expect(try decoder.next() == nil)
        decoder.append(frame.suffix(1))
        #expect(try decoder.next().map { try WireMessage(decoding: $0) } == .stdout(Array("hello".utf8)))
    }

    @Test(arguments: everyMessage.filter { $0.encoded().count > 1 }.map(Sample.init))
    func truncatedPayloadsThrow(_ sample: Sample) {
        let payload = sample.message.encoded()
        #expect(throws: WireError.self) { try WireMessage(decoding: Array(payload.dropLast())) }
    }

    @Test(arguments: everyMessage.map(Sample.init))
    func trailingBytesThrow(_ sample: Sample) {
        #expect(throws: WireError.self) { try WireMessage(decoding: sample.message.encoded() + [0]) }
    }

    @Test(arguments: [0, 13, 31, 36, 63, 73, 95, 98, 255] as [UInt8])
    func unknownTagsThrow(_ tag: UInt8) {
        #expect(throws: WireError.self) { try WireMessage(decoding: [tag]) }
    }

    @Test func anEmptyPayloadThrows() {
        #expect(throws: WireError.self) { try WireMessage(decoding: []) }
    }

    @Test(arguments: [0, wireMaxFrame + 1, Int(UInt32.max)])
    func outOfRangeFrameLengthsThrow(_ length: Int) {
        var decoder = FrameDecoder()
        let n = UInt32(length)
        decoder.append([
            UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
            UInt8(truncatingIfNeeded: n),
        ])
        #expect(throws: WireError.self) { try decoder.next() }
    }

    @Test func aFieldLongerThanItsFrameThrows() {
        // stdout claiming 1000 bytes but carrying 3.
        #expect(throws: WireError.self) { try WireMessage(decoding: [66, 0, 0, 0x03, 0xe8, 1, 2, 3]) }
        // a field length beyond the frame limit
        #expect(throws: WireError.self) { try WireMessage(decoding: [66, 0xff, 0xff, 0xff, 0xff]) }
    }

    @Test func aFrameOfTheMaximumSizeDecodes() throws {
        let message = WireMessage.data(Array(repeating: 7, count: wireMaxFrame - 5))
        var decoder = FrameDecoder()
        decoder.append(message.framed())
        #expect(try decoder.next().map { try WireMessage(decoding: $0) } == message)
    }
}
