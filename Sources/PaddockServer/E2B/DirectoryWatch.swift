import PaddockSandbox

/// What a directory held at one moment, for turning two listings into filesystem events. paddock-init
/// has no inotify bridge, so watching is done by listing the directory and comparing.
struct DirectorySnapshot: Equatable, Sendable {
    struct Entry: Equatable, Sendable {
        var info: SandboxFileInfo
        var signature: [Int64] { [Int64(clamping: info.size), info.mtimeNanos] }
    }

    /// By path relative to the watched directory.
    var entries: [String: Entry]

    init(root: String, listing: [SandboxFileInfo]) {
        let prefix = root.hasSuffix("/") ? root : root + "/"
        var entries: [String: Entry] = [:]
        for info in listing {
            let relative = info.path.hasPrefix(prefix) ? String(info.path.dropFirst(prefix.count)) : info.name
            entries[relative] = Entry(info: info)
        }
        self.entries = entries
    }

    /// Events that turn `old` into `self`, ordered by name so a caller sees a stable order: creations,
    /// writes (size or mtime changed), permission changes and removals.
    func events(since old: DirectorySnapshot) -> [EnvdFilesystem.Event] {
        var out: [EnvdFilesystem.Event] = []
        for name in entries.keys.sorted() {
            guard let entry = entries[name] else { continue }
            let info = EnvdFilesystem.EntryInfo(entry.info)
            guard let before = old.entries[name] else {
                out.append(.init(name: name, type: .create, entry: info))
                // A file created and filled between two looks was also written to.
                if entry.info.kind == .file && entry.info.size > 0 {
                    out.append(.init(name: name, type: .write, entry: info))
                }
                continue
            }
            if before.signature != entry.signature && entry.info.kind != .directory {
                out.append(.init(name: name, type: .write, entry: info))
            }
            if before.info.mode != entry.info.mode {
                out.append(.init(name: name, type: .chmod, entry: info))
            }
        }
        for name in old.entries.keys.sorted() where entries[name] == nil {
            out.append(.init(name: name, type: .remove, entry: nil))
        }
        return out
    }
}
