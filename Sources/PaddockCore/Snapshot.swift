import Foundation

/// A sealed copy of a session's filesystem changes, from which new sessions start (`--from-snapshot`) and
/// forks are made. It keeps files, not running processes: a session started from it begins with fresh
/// processes over the snapshot's files.
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

    public init(
        id: String, name: String?, session: SessionID, provider: String, template: String, layer: String,
        bytes: UInt64, entries: Int, createdAt: Date
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
