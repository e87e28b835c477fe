import Foundation
import Hummingbird
import PaddockCore
import PaddockSandbox
import PaddockServices

/// envd's `filesystem.Filesystem` service over the session's provider. Relative paths resolve against
/// the user's home; a missing path is Connect `not_found`.
struct EnvdFilesystemService {
    let files: SessionFiles
    let watchers: EnvdWatchers
    let keepalive: Duration
    /// How often WatchDir looks at the directory.
    let pollInterval: Duration

    static let keepaliveMessage: [UInt8] =
        (try? ProtoJSON.encode(EnvdFilesystem.WatchEvent.keepalive)) ?? Array("{}".utf8)

    func handle(method: String, request: Request, target: E2BSandboxTarget) async throws -> Response {
        do {
            return try await dispatch(method, request, target)
        } catch let e as PaddockError {
            throw ConnectError(e)
        }
    }

    private func dispatch(_ method: String, _ request: Request, _ target: E2BSandboxTarget) async throws -> Response {
        let bytes = try await ConnectStream.requestMessage(request)
        let id = target.session.id
        let (user, caller) = (target.user, target.caller)
        switch method {
        case "Stat":
            let m = try ProtoJSON.decode(EnvdFilesystem.PathRequest.self, from: bytes)
            let info = try await files.stat(id, path: path(m.path, target), user: user, by: caller)
            return try ConnectStream.unary(EnvdFilesystem.EntryResponse(entry: try await followed(info, target)))
        case "ListDir":
            let m = try ProtoJSON.decode(EnvdFilesystem.ListDirRequest.self, from: bytes)
            let depth = Int(m.depth ?? 1)
            guard (0...64).contains(depth) else {
                throw ConnectError(.invalidArgument, "depth must be 1 to 64, not \(depth)")
            }
            let path = path(m.path, target)
            let info = try await files.stat(id, path: path, user: user, by: caller)
            guard info.kind == .directory else {
                throw ConnectError(.invalidArgument, "path \(path) is not a directory")
            }
            let entries = try await files.list(id, path: path, depth: max(depth, 1), user: user, by: caller)
            return try ConnectStream.unary(EnvdFilesystem.ListDirResponse(entries: entries.map { .init($0) }))
        case "MakeDir":
            let m = try ProtoJSON.decode(EnvdFilesystem.PathRequest.self, from: bytes)
            let path = path(m.path, target)
            let (created, info) = try await files.makeDirectory(id, path: path, user: user, by: caller)
            guard created else { throw ConnectError(.alreadyExists, "directory \(path) already exists") }
            return try ConnectStream.unary(EnvdFilesystem.EntryResponse(entry: .init(info)))
        case "Move":
            let m = try ProtoJSON.decode(EnvdFilesystem.MoveRequest.self, from: bytes)
            let info = try await files.rename(
                id, from: path(m.source, target), to: path(m.destination, target), user: user, by: caller)
            return try ConnectStream.unary(EnvdFilesystem.EntryResponse(entry: .init(info)))
        case "Remove":
            let m = try ProtoJSON.decode(EnvdFilesystem.PathRequest.self, from: bytes)
            // As envd: removing what is not there is done already (watch tests remove paths that may be gone).
            do { try await files.remove(id, path: path(m.path, target), user: user, by: caller) } catch let e
                as PaddockError where e.code == .notFound
            {}
            return try ConnectStream.unary(EnvdProcess.Empty())
        case "CreateWatcher":
            let m = try ProtoJSON.decode(EnvdFilesystem.WatchRequest.self, from: bytes)
            let (depth, path, snapshot) = try await startWatching(m, target)
            let watcherID = try await watchers.add(
                .init(session: id, path: path, depth: depth, user: user, snapshot: snapshot))
            return try ConnectStream.unary(EnvdFilesystem.WatcherCreated(watcherId: watcherID))
        case "GetWatcherEvents":
            let m = try ProtoJSON.decode(EnvdFilesystem.WatcherRequest.self, from: bytes)
            let watcher = try await watchers.get(m.watcherId, session: id)
            let now = try await snapshot(watcher.path, depth: watcher.depth, target)
            await watchers.update(m.watcherId, snapshot: now)
            return try ConnectStream.unary(EnvdFilesystem.WatcherEvents(events: now.events(since: watcher.snapshot)))
        case "RemoveWatcher":
            let m = try ProtoJSON.decode(EnvdFilesystem.WatcherRequest.self, from: bytes)
            _ = try await watchers.get(m.watcherId, session: id)
            await watchers.remove(m.watcherId)
            return try ConnectStream.unary(EnvdProcess.Empty())
        case "WatchDir":
            let m = try ProtoJSON.decode(EnvdFilesystem.WatchRequest.self, from: bytes)
            return try await watchStream(m, request: request, target)
        default:
            throw ConnectError(.unimplemented, "filesystem.Filesystem/\(method) is not supported by this server")
        }
    }

    /// A symlink as envd describes it: the type of what it points to, and that target as an absolute, fully
    /// resolved path (a dangling or looping link stays a symlink with the target it names).
    private func followed(_ info: SandboxFileInfo, _ target: E2BSandboxTarget) async throws
        -> EnvdFilesystem.EntryInfo
    {
        guard info.kind == .symlink, var next = info.symlinkTarget else { return .init(info) }
        var current = info
        var link = info.path
        for _ in 0..<Self.maxSymlinkHops {
            if !next.hasPrefix("/") { next = (link as NSString).deletingLastPathComponent + "/" + next }
            next = Self.lexicallyNormalized(next)
            do {
                current = try await files.stat(target.session.id, path: next, user: target.user, by: target.caller)
            } catch let e as PaddockError where e.code == .notFound {
                return .init(info)
            }
            guard current.kind == .symlink, let further = current.symlinkTarget else {
                var entry = EnvdFilesystem.EntryInfo(info)
                entry.type = EnvdFilesystem.EntryInfo(current).type
                entry.symlinkTarget = next
                return entry
            }
            link = next
            next = further
        }
        return .init(info)
    }

    /// `.` and `..` resolved by the path's text alone: the path names a file inside the sandbox, so nothing on
    /// this host may be consulted.
    static func lexicallyNormalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// As the kernel's limit on nested symlinks (`ELOOP`).
    static let maxSymlinkHops = 40

    /// envd's path rules (relative to the user's home) applied; the session's own rules apply after them.
    private func path(_ raw: String, _ target: E2BSandboxTarget) -> String { E2BPaths.resolve(raw, user: target.user) }

    private func startWatching(_ m: EnvdFilesystem.WatchRequest, _ target: E2BSandboxTarget) async throws -> (
        Int, String, DirectorySnapshot
    ) {
        let path = path(m.path, target)
        let info = try await files.stat(target.session.id, path: path, user: target.user, by: target.caller)
        guard info.kind == .directory else { throw ConnectError(.invalidArgument, "path \(path) is not a directory") }
        let depth = (m.recursive ?? false) ? 64 : 1
        return (depth, path, try await snapshot(path, depth: depth, target))
    }

    private func snapshot(_ path: String, depth: Int, _ target: E2BSandboxTarget) async throws -> DirectorySnapshot {
        let listing = try await files.list(
            target.session.id, path: path, depth: depth, user: target.user, by: target.caller)
        return DirectorySnapshot(root: path, listing: listing)
    }

    /// The streaming watch: a start event, then the differences found at each look.
    private func watchStream(_ m: EnvdFilesystem.WatchRequest, request: Request, _ target: E2BSandboxTarget)
        async throws -> Response
    {
        let (depth, path, first) = try await startWatching(m, target)
        let interval = pollInterval
        let includeEntry = m.includeEntry ?? false
        let service = self
        return ConnectStream.response(
            keepaliveMessage: Self.keepaliveMessage, keepalive: keepalive, deadline: ConnectStream.timeout(request)
        ) { channel in
            await channel.send(.message(try ProtoJSON.encode(EnvdFilesystem.WatchEvent.start)))
            var last = first
            while true {
                try await Task.sleep(for: interval)
                let now = try await service.snapshot(path, depth: depth, target)
                for var event in now.events(since: last) {
                    if !includeEntry { event.entry = nil }
                    await channel.send(.message(try ProtoJSON.encode(EnvdFilesystem.WatchEvent.filesystem(event))))
                }
                last = now
            }
        }
    }
}

/// Path rules of envd: relative paths (and `~`) are relative to the user's home.
enum E2BPaths {
    static func resolve(_ path: String, user: SandboxUser) -> String {
        if path.hasPrefix("/") { return path }
        if path == "~" || path.isEmpty { return user.home }
        if path.hasPrefix("~/") { return user.home + "/" + path.dropFirst(2) }
        return user.home + "/" + path
    }
}
