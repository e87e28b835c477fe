import PaddockInitProtocol
import PaddockSandbox

/// Messages of envd's `filesystem.Filesystem` service, in their proto3 JSON form.
enum EnvdFilesystem {
    struct PathRequest: Codable, Sendable {
        var path: String
    }

    struct ListDirRequest: Codable, Sendable {
        var path: String
        var depth: UInt32?
    }

    struct MoveRequest: Codable, Sendable {
        var source: String
        var destination: String
    }

    struct WatchRequest: Codable, Sendable {
        var path: String
        var recursive: Bool?
        var includeEntry: Bool?
    }

    struct WatcherRequest: Codable, Sendable {
        var watcherId: String
    }

    struct WatcherCreated: Codable, Sendable {
        var watcherId: String
    }

    struct FileType: ProtoEnum, Equatable {
        var rawValue: String
        init(rawValue: String) { self.rawValue = rawValue }
        static let names = [
            0: "FILE_TYPE_UNSPECIFIED", 1: "FILE_TYPE_FILE", 2: "FILE_TYPE_DIRECTORY", 3: "FILE_TYPE_SYMLINK",
        ]
        static let file = FileType(rawValue: "FILE_TYPE_FILE")
        static let directory = FileType(rawValue: "FILE_TYPE_DIRECTORY")
        static let symlink = FileType(rawValue: "FILE_TYPE_SYMLINK")
        static let unspecified = FileType(rawValue: "FILE_TYPE_UNSPECIFIED")
    }

    struct EventType: ProtoEnum, Equatable {
        var rawValue: String
        init(rawValue: String) { self.rawValue = rawValue }
        static let names = [
            0: "EVENT_TYPE_UNSPECIFIED", 1: "EVENT_TYPE_CREATE", 2: "EVENT_TYPE_WRITE", 3: "EVENT_TYPE_REMOVE",
            4: "EVENT_TYPE_RENAME", 5: "EVENT_TYPE_CHMOD",
        ]
        static let create = EventType(rawValue: "EVENT_TYPE_CREATE")
        static let write = EventType(rawValue: "EVENT_TYPE_WRITE")
        static let remove = EventType(rawValue: "EVENT_TYPE_REMOVE")
        static let chmod = EventType(rawValue: "EVENT_TYPE_CHMOD")
        static let rename = EventType(rawValue: "EVENT_TYPE_RENAME")

        /// What inotify inside the sandbox saw, in envd's terms.
        init(_ kind: WireFileEventKind) {
            switch kind {
            case .create: self = .create
            case .write: self = .write
            case .remove: self = .remove
            case .rename: self = .rename
            case .chmod: self = .chmod
            }
        }
    }

    struct EntryInfo: Codable, Sendable, Equatable {
        var name: String
        var type: FileType
        var path: String
        var size: ProtoInt64
        var mode: UInt32
        var permissions: String
        var owner: String
        var group: String
        var modifiedTime: String
        var symlinkTarget: String?
        var isSymlink: Bool
        /// E2B's file metadata; absent when the file has none.
        var metadata: [String: String]?

        init(_ info: SandboxFileInfo) {
            name = info.name
            path = info.path
            type =
                switch info.kind {
                case .file: .file
                case .directory: .directory
                case .symlink: .symlink
                case .other: .unspecified
                }
            size = ProtoInt64(Int64(clamping: info.size))
            mode = info.mode & 0o7777
            permissions = Self.permissions(mode: info.mode, kind: info.kind)
            owner = Self.account(info.uid)
            group = Self.account(info.gid)
            modifiedTime = ProtoTimestamp.format(nanosecondsSinceEpoch: info.mtimeNanos)
            symlinkTarget = info.symlinkTarget
            isSymlink = info.kind == .symlink
            metadata = info.metadata.isEmpty ? nil : info.metadata
        }

        /// `ls -l` style: `drwxr-xr-x`.
        static func permissions(mode: UInt32, kind: WireFileInfo.Kind) -> String {
            let type: Character =
                switch kind {
                case .directory: "d"
                case .symlink: "l"
                case .file: "-"
                case .other: "?"
                }
            var out = String(type)
            for shift in [6, 3, 0] as [UInt32] {
                let bits = (mode >> shift) & 7
                out.append(bits & 4 != 0 ? "r" : "-")
                out.append(bits & 2 != 0 ? "w" : "-")
                out.append(bits & 1 != 0 ? "x" : "-")
            }
            return out
        }

        static func account(_ id: UInt32) -> String {
            switch id {
            case 0: "root"
            case SandboxLayout.userID: SandboxLayout.userName
            default: String(id)
            }
        }
    }

    struct EntryResponse: Codable, Sendable {
        var entry: EntryInfo
    }

    struct ListDirResponse: Codable, Sendable {
        var entries: [EntryInfo]
    }

    struct Event: Codable, Sendable, Equatable {
        var name: String
        var type: EventType
        var entry: EntryInfo?
    }

    struct WatcherEvents: Codable, Sendable {
        var events: [Event]
    }

    /// `WatchDirResponse`: `{"start": {}}`, `{"filesystem": Event}` or `{"keepalive": {}}`.
    enum WatchEvent: Encodable, Sendable {
        case start
        case filesystem(Event)
        case keepalive

        enum Keys: String, CodingKey { case start, filesystem, keepalive }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            switch self {
            case .start: try c.encode(EnvdProcess.Empty(), forKey: .start)
            case .filesystem(let event): try c.encode(event, forKey: .filesystem)
            case .keepalive: try c.encode(EnvdProcess.Empty(), forKey: .keepalive)
            }
        }
    }
}
