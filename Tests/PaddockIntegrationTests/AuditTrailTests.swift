import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// The hash-chained audit trail: tampering done directly in the SQLite file (with the sqlite3 tool, while the
/// store has it open) is caught by `verify`, which names the event.
struct AuditTrailTests {
    /// Runs SQL against the database file with the real sqlite3 command-line tool.
    @discardableResult
    static func sqlite(_ path: String, _ sql: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [path, sql]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard p.terminationStatus == 0 else { throw PaddockError.internal("sqlite3 failed: \(text)") }
        return text
    }

    static func sha256Hex(_ bytes: Data) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe()
        let out = Pipe()
        p.standardInput = input
        p.standardOutput = out
        try p.run()
        input.fileHandleForWriting.write(bytes)
        try input.fileHandleForWriting.close()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return String(text.prefix(64))
    }

    /// A store with one session's trail of six exec events (`echo 1` … `echo 6`).
    static func withTrail(_ body: (String, SessionID, AuditLog) async throws -> Void) async throws {
        let dir = TestHost.makeDataDirectory("audit")
        defer { TestHost.removeDataDirectory(dir) }
        let path = dir + "/paddock.sqlite"
        let store = try SQLiteStore(path: path)
        let log = AuditLog(store: store)
        let session = SessionID.random()
        // Another session's trail in the same table, to prove trails do not interfere.
        let other = SessionID.random()
        for i in 1...6 {
            try await log.record(
                session: session, kind: "exec", actor: AuditActor(user: "alice", token: "0011223344556677"),
                fields: ["argv": .strings(["echo", String(i)]), "exit": 0])
            try await log.record(session: other, kind: "exec", actor: .system, fields: ["n": .int(Int64(i))])
        }
        #expect(
            try await log.verify(session: session)
                == AuditVerification(ok: true, events: 6, position: nil, problem: nil))
        try await body(path, session, log)
        #expect(try await log.verify(session: other).ok)
    }

    static let tampering: [(String, String, Int64, String)] = [
        // (what, SQL with $S for the session, position reported, words in the problem)
        (
            "edit a field",
            "UPDATE audit_event SET body = CAST(replace(CAST(body AS TEXT), '\"3\"', '\"9\"') AS BLOB) WHERE session = '$S' AND seq = 3",
            3, "altered"
        ),
        ("delete a row", "DELETE FROM audit_event WHERE session = '$S' AND seq = 4", 4, "deleted"),
        ("delete the newest row", "DELETE FROM audit_event WHERE session = '$S' AND seq = 6", 6, "deleted"),
        ("delete the first row", "DELETE FROM audit_event WHERE session = '$S' AND seq = 1", 1, "deleted"),
        (
            "swap two rows",
            "UPDATE audit_event SET seq = -seq WHERE session = '$S' AND seq IN (2, 5); "
                + "UPDATE audit_event SET seq = 5 WHERE session = '$S' AND seq = -2; "
                + "UPDATE audit_event SET seq = 2 WHERE session = '$S' AND seq = -5", 2, "reordered"
        ),
        (
            "insert a copy",
            "INSERT INTO audit_event SELECT session, 7, body, hash FROM audit_event WHERE session = '$S' AND seq = 2",
            7, "inserted"
        ),
        ("delete everything", "DELETE FROM audit_event WHERE session = '$S'", 1, "deleted"),
    ]

    @Test(arguments: 0..<tampering.count)
    func verifyNamesTheEventThatWasTamperedWith(_ index: Int) async throws {
        let (what, sql, position, words) = Self.tampering[index]
        try await Self.withTrail { path, session, log in
            try Self.sqlite(path, sql.replacingOccurrences(of: "$S", with: session.rawValue))
            let result = try await log.verify(session: session)
            #expect(!result.ok, "\(what)")
            #expect(result.position == position, "\(what): \(result)")
            #expect(result.problem?.contains(words) == true, "\(what): \(result.problem ?? "")")
        }
    }

    /// An editor who also rewrites the edited event's hash is caught by the next event's link; rewriting the
    /// newest event's hash is caught by the head.
    @Test(arguments: [(3, Int64(4)), (6, Int64(6))])
    func rewritingTheHashToMatchIsCaughtByTheChain(_ seq: Int, _ position: Int64) async throws {
        try await Self.withTrail { path, session, log in
            let hex = try Self.sqlite(
                path, "SELECT hex(body) FROM audit_event WHERE session = '\(session)' AND seq = \(seq)")
            var body = String(decoding: try #require(Data(hexString: hex)), as: UTF8.self)
            body = body.replacingOccurrences(of: "\"echo\"", with: "\"curl\"")
            let hash = try Self.sha256Hex(Data(body.utf8))
            try Self.sqlite(
                path,
                "UPDATE audit_event SET body = CAST('\(body)' AS BLOB), hash = X'\(hash)' WHERE session = '\(session)' "
                    + "AND seq = \(seq)")
            let result = try await log.verify(session: session)
            #expect(!result.ok && result.position == position, "\(result)")
        }
    }

    @Test func eventsChainAndExportAsJSONLines() async throws {
        try await Self.withTrail { _, session, log in
            let events = try await log.events(session: session)
            #expect(events.map(\.seq) == [1, 2, 3, 4, 5, 6])
            #expect(events.allSatisfy { $0.actor.user == "alice" && $0.kind == "exec" })
            let lines = try await log.export(session: session).split(separator: 0x0A)
            #expect(lines.count == 6)
            // The SHA-256 of each exported line is the next line's prev: checkable with sha256sum alone.
            for (line, next) in zip(lines, events.dropFirst()) {
                #expect(try Self.sha256Hex(Data(line)) == next.prev)
            }
        }
    }
}

extension Data {
    init?(hexString: String) {
        var bytes = [UInt8]()
        var chars = hexString.makeIterator()
        while let a = chars.next() {
            guard let b = chars.next(), let byte = UInt8(String([a, b]), radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.init(bytes)
    }
}
