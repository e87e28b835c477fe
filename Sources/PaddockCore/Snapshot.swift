import Foundation

/// A sealed copy of a session's filesystem changes, from which new sessions start (`--from-snapshot`) and
/// forks are made. By default it keeps files, not running processes: a session started from it begins with fresh
/// processes over the snapshot's files. One that keeps processes (`keeps: processes`, gVisor sessions) also holds
/// the sandbox's checkpoint, and a session started from it restores them.
public struct Snapshot: Codable, Sendable, Equatable, CustomStringConvertible {
    public var id: String
    /// A unique, user-chosen name (`--name`), or nil.
    public var name: String?
    /// The session it was taken from.
    public var session: SessionID
    /// The provider whose sandboxes can start from it.
    public var provider: String
    public var template: String
    /// The provider's layer holding the files.
    public var layer: String
    /// Bytes of file data and entries (files, directories, links, deletions) in the layer.
    public var bytes: UInt64
    public var entries: Int
    public var createdAt: Date
    /// What a session started from it gets besides the files.
    public var keeps: Keeps

    /// What a snapshot keeps of its session.
    public enum Keeps: String, Codable, Sendable, CaseIterable {
        /// The files only: sessions started from it start fresh processes.
        case files
        /// The files and the running processes (their memory and open files): sessions started from it continue
        /// them where the snapshot was taken.
        case processes

        /// Reads `files` or `processes`; anything else is refused with the choices.
        public init(parsing text: String) throws(PaddockError) {
            guard let keeps = Keeps(rawValue: text) else {
                throw .invalidArgument("keeps must be 'files' or 'processes', not '\(text)'")
            }
            self = keeps
        }
    }

    public init(
        id: String, name: String?, session: SessionID, provider: String, template: String, layer: String,
        bytes: UInt64, entries: Int, createdAt: Date, keeps: Keeps = .files
    ) {
        self.id = id
        self.name = name
        self.session = session
        self.provider = provider
        self.template = template
        self.layer = layer
        self.bytes = bytes
        self.entries = entries
        self.createdAt = createdAt
        self.keeps = keeps
    }

    /// A new snapshot id: `snap` + 12 base-36 characters.
    public static func newID() -> String { "snap" + String(SessionID.random().rawValue.prefix(12)) }

    /// Whether `text` has the shape of a snapshot id (names must not, so the two never collide).
    public static func looksLikeID(_ text: String) -> Bool {
        text.hasPrefix("snap") && text.count == 16
            && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    /// Checks a user-chosen snapshot name.
    public static func validate(name: String) throws(PaddockError) {
        guard (1...128).contains(name.count),
            name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) })
        else {
            throw .invalidArgument(
                "snapshot name '\(name)' is not valid; use 1 to 128 letters, digits, '-', '_', '.' or ':'")
        }
        guard !looksLikeID(name) else {
            throw .invalidArgument("snapshot name '\(name)' looks like a snapshot id; choose another name")
        }
    }

    public var description: String { "Snapshot(\(id), name: \(name ?? "-"), session: \(session), \(bytes) bytes)" }
}
