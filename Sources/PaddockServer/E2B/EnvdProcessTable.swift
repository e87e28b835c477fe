import Foundation
import PaddockCore
import PaddockSandbox
import PaddockServices

/// Commands started through envd's process service that are still streaming, by sandbox and pid, so
/// SendInput, SendSignal, CloseStdin and Update reach the command over the stream that owns its stdin.
actor EnvdProcessTable {
    struct Key: Hashable, Sendable {
        var session: SessionID
        var pid: Int32
    }

    struct Entry: Sendable {
        var handle: any ExecHandle
        var config: EnvdProcess.Config
        var tag: String?
        /// Identifies this registration, so a stream that ends does not remove its successor's.
        var token: UUID
    }

    private var entries: [Key: Entry] = [:]

    func insert(_ key: Key, _ entry: Entry) { entries[key] = entry }

    func remove(_ key: Key, token: UUID) {
        if entries[key]?.token == token { entries[key] = nil }
    }

    func entry(_ key: Key) -> Entry? { entries[key] }

    func entries(of session: SessionID) -> [Int32: Entry] {
        var out: [Int32: Entry] = [:]
        for (key, entry) in entries where key.session == session { out[key.pid] = entry }
        return out
    }

    /// The pid of the newest command with this tag.
    func pid(session: SessionID, tag: String) -> Int32? {
        entries.filter { $0.key.session == session && $0.value.tag == tag }.map(\.key.pid).max()
    }
}
