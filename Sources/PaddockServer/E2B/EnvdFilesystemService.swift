import Foundation
import Hummingbird
import PaddockCore
import PaddockInitProtocol
import PaddockSandbox
import PaddockServices

/// envd's `filesystem.Filesystem` service over the session's provider. Relative paths resolve against
/// the user's home; a missing path is Connect `not_found`.
struct EnvdFilesystemService {
    let files: SessionFiles
    let watchers: EnvdWatchers
    let keepalive: Duration

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
            let (root, watch) = try await startWatching(m, target)
            let watcherID = try await watchers.add(
                EnvdWatchFeed(session: id, root: root, includeEntry: m.includeEntry ?? false, watch: watch))
            return try ConnectStream.unary(EnvdFilesystem.WatcherCreated(watcherId: watcherID))
        case "GetWatcherEvents":
            let m = try ProtoJSON.decode(EnvdFilesystem.WatcherRequest.self, from: bytes)
            let feed = try await watchers.get(m.watcherId, session: id)
            var events: [EnvdFilesystem.Event] = []
            for change in await feed.drain() {
                events.append(await Self.event(change, root: feed.root, includeEntry: feed.includeEntry, files, target))
            }
            return try ConnectStream.unary(EnvdFilesystem.WatcherEvents(events: events))
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

    /// An inotify watch of the requested directory, inside the sandbox, with the user's permissions.
    private func startWatching(_ m: EnvdFilesystem.WatchRequest, _ target: E2BSandboxTarget) async throws -> (
        String, SandboxDirectoryWatch
    ) {
        let path = path(m.path, target)
        let info = try await files.stat(target.session.id, path: path, user: target.user, by: target.caller)
        guard info.kind == .directory else { throw ConnectError(.invalidArgument, "path \(path) is not a directory") }
        let (resolved, watch) = try await files.watch(
            target.session.id, path: path, recursive: m.recursive ?? false, user: target.user, by: target.caller)
        return (resolved, watch)
    }

    /// The streaming watch: a start event, then each change as inotify reports it; the stream ends when the
    /// directory goes away. With `includeEntry`, each event that leaves an entry carries its info.
    private func watchStream(_ m: EnvdFilesystem.WatchRequest, request: Request, _ target: E2BSandboxTarget)
        async throws -> Response
    {
        let (root, watch) = try await startWatching(m, target)
        let includeEntry = m.includeEntry ?? false
        let files = self.files
        return ConnectStream.response(
            keepaliveMessage: Self.keepaliveMessage, keepalive: keepalive, deadline: ConnectStream.timeout(request),
            onClientGone: { watch.events.cancel() }
        ) { channel in
            await channel.send(.message(try ProtoJSON.encode(EnvdFilesystem.WatchEvent.start)))
            for try await batch in watch.events {
                for change in batch {
                    let event = await Self.event(change, root: root, includeEntry: includeEntry, files, target)
                    await channel.send(.message(try ProtoJSON.encode(EnvdFilesystem.WatchEvent.filesystem(event))))
                }
            }
        }
    }

    /// A change in envd's terms; with `includeEntry`, a change that leaves an entry carries its info.
    private static func event(
        _ change: WireFileEvent, root: String, includeEntry: Bool, _ files: SessionFiles, _ target: E2BSandboxTarget
    ) async -> EnvdFilesystem.Event {
        var event = EnvdFilesystem.Event(name: change.path, type: .init(change.kind), entry: nil)
        if includeEntry && change.kind != .remove && change.kind != .rename {
            event.entry = await entry(files, (root == "/" ? "" : root) + "/" + change.path, target)
        }
        return event
    }

    /// The entry a change left, or nil when it is already gone again.
    private static func entry(_ files: SessionFiles, _ path: String, _ target: E2BSandboxTarget) async
        -> EnvdFilesystem.EntryInfo?
    {
        do {
            return .init(try await files.stat(target.session.id, path: path, user: target.user, by: target.caller))
        } catch {
            // Removed again before it could be read, or unreadable: the event still goes out, without its entry.
            return nil
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
