import Foundation
import PaddockCore
import PaddockStore

/// `paddock.audit_append` (ms per durable append: one SQLite transaction with synchronous=FULL) and
/// `paddock.audit_exec_event_bytes` (what one exec event costs in the database), on a real SQLite file.
enum AuditBenchmark {
    static func run(directory: String, samples: Int) async throws -> [Benchmarks.Result] {
        let dir = directory + "/audit-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit.sqlite"
        let session = SessionID.random()
        let actor = AuditActor(user: "alice", token: "3f2a9c0d1e2b4a5f")
        var times: [Double] = []
        var logical: [Double] = []
        // Measured closed, as at the end: open, the migrations' pages sit in the WAL, which counted them twice over
        // the checkpointed file and gave a negative size per event.
        do { _ = try SQLiteStore(path: path) }
        let emptySize = try Self.size(path)
        do {
            let store = try SQLiteStore(path: path)
            let log = AuditLog(store: store)
            for i in 0..<samples {
                let fields: [String: AuditValue] = [
                    "argv": .strings(["npm", "test", "--", "--watch=false"]), "cwd": "/workspace", "user": "user",
                    "pid": .int(Int64(1000 + i)), "exit": 0, "ms": .int(Int64(i % 5000)),
                ]
                times.append(
                    try await Benchmarks.milliseconds {
                        try await log.record(session: session, kind: "exec", actor: actor, fields: fields)
                    })
            }
            for r in try await store.auditRecords(session: session) {
                // The row: canonical bytes, their hash, and the (session, seq) key.
                logical.append(Double(r.body.count + r.hash.count + session.rawValue.utf8.count + 8))
            }
            guard try await log.verify(session: session).ok else {
                throw PaddockError.internal("the benchmark's own audit trail does not verify")
            }
        }
        // The store is closed here, which checkpoints the WAL into the main file: its growth is what the events cost.
        let onDisk = Double(try Self.size(path) - emptySize) / Double(max(samples, 1))
        return [
            Benchmarks.summarize(
                "paddock.audit_append", unit: "ms", times, note: "durable append, synchronous=FULL, \(samples) events"),
            // What an event costs is the database's growth per event (pages, b-tree and all); the sum of the
            // row's fields is shown beside it, because it counts the (session, seq) key SQLite stores compactly.
            Benchmarks.summarize(
                "paddock.audit_exec_event_bytes", unit: "B", [onDisk],
                note: String(
                    format: "database growth per exec event over %d events; the row's fields sum to %.0f B", samples,
                    logical.reduce(0, +) / Double(max(logical.count, 1)))),
        ]
    }

    private static func size(_ path: String) throws -> Int {
        var total = 0
        for p in [path, path + "-wal"] {
            total += (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0
        }
        return total
    }
}
