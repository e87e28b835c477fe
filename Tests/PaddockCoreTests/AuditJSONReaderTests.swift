import Foundation
import Testing

@testable import PaddockCore

/// The fast reader of stored audit events must read exactly what `JSONDecoder` reads, and give up (so the
/// decoder decides) on anything else.
struct AuditJSONReaderTests {
    static func event(_ fields: [String: AuditValue], token: String? = "3f2a9c0d") -> AuditEvent {
        AuditEvent(
            session: SessionID(rawValue: "abc123def456")!, seq: 42, at: 1_765_000_000_123, kind: "exec",
            actor: AuditActor(user: "alice", token: token), fields: fields, prev: String(repeating: "0f", count: 32))
    }

    @Test(
        arguments: [
            ["argv": .list([.string("echo"), .string("a \"quoted\" \\ back/slash\n\ttab\u{01}")])],
            ["path": .string("/workspace/é中文/😀.txt"), "exit": .int(-3), "oom": .bool(false)],
            ["nested": .object(["a": .list([]), "b": .object([:]), "c": .null, "d": .list([.int(0), .bool(true)])])],
            [:],
            ["big": .int(Int64.max), "small": .int(Int64.min), "html": .string("<script>alert('x')</script>")],
        ] as [[String: AuditValue]])
    func readsWhatTheEncoderWrote(_ fields: [String: AuditValue]) throws {
        for token in ["3f2a9c0d", nil] as [String?] {
            let event = Self.event(fields, token: token)
            let bytes = try event.canonicalBytes()
            let read = try #require(AuditJSONReader.read(bytes).flatMap(AuditEvent.init(reading:)))
            #expect(read == event)
            #expect(read == (try JSONDecoder().decode(AuditEvent.self, from: Data(bytes))))
            #expect(try AuditEvent.decode(canonical: bytes) == event)
        }
    }

    @Test func readsEscapesAnotherWriterMightUse() throws {
        let json = #"{"a":"\ud83d\ude00 \u00e9\/x","b":[ 1 , -2 ],"c":{ }}"#
        let value = try #require(AuditJSONReader.read(Array(json.utf8)))
        #expect(value == .object(["a": .string("😀 é/x"), "b": .list([.int(1), .int(-2)]), "c": .object([:])]))
    }

    @Test(arguments: [
        #"{"a":1.5}"#, #"{"a":1e3}"#, #"{"a":"\ud83d"}"#, #"{"a":"open"#, #"{"a":1,}"#, #"[1 2]"#, #"{"a":tru}"#,
        #"{"a":1} x"#, #"{"a":"\q"}"#,
    ])
    func givesUpOnWhatItDoesNotExpect(_ json: String) {
        #expect(AuditJSONReader.read(Array(json.utf8)) == nil)
    }

    @Test func anEventOfAnotherShapeIsLeftToTheDecoder() throws {
        let missing = #"{"session":"abc123def456","seq":1,"at":2,"kind":"x","actor":{"user":"a"},"fields":{}}"#
        #expect(AuditJSONReader.read(Array(missing.utf8)).flatMap(AuditEvent.init(reading:)) == nil)
        #expect(throws: (any Error).self) { try AuditEvent.decode(canonical: Array(missing.utf8)) }
    }
}
