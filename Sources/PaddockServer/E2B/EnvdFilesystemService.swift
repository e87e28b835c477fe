import Foundation
import Hummingbird
import PaddockCore
import PaddockSandbox

/// envd's `filesystem.Filesystem` service over the session's provider. Relative paths resolve against
/// the user's home; a missing path is Connect `not_found`.
struct EnvdFilesystemService {
    let sessions: SessionService
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
        let user = target.user
        switch method {
        case "Stat":
            let m = try ProtoJSON.decode(EnvdFilesystem.PathRequest.self, from: bytes)
            let (provider, path) = try await resolve(m.path, target)
            let info = try await provider.initClient(id).stat(path: path, user: user)
            return try ConnectStream.unary(EnvdFilesystem.EntryResponse(entry: .init(info)))
        case "ListDir":
            let m = try ProtoJSON.decode(EnvdFilesystem.ListDirRequest.self, from: bytes)
            let (provider, path) = try await resolve(m.path, target)
            let depth = Int(m.depth ?? 1)
            guard (0...64).contains(depth) else {
                throw ConnectError(.invalidArgument, "depth must be 1 to 64, not \(depth)")
            }
            let info = try await provider.initClient(id).stat(path: path, user: user)
            guard info.kind == .directory else {
                throw ConnectError(.invalidArgument, "path \(path) is not a directory")
            }
            let entries = try await provider.initClient(id).listDirectory(path: path, depth: max(depth, 1), user: user)
            return try ConnectStream.unary(EnvdFilesystem.ListDirResponse(entries: entries.map { .init($0) }))
        case "MakeDir":
            let m = try ProtoJSON.decode(EnvdFilesystem.PathRequest.self, from: bytes)
            let (provider, path) = try await resolve(m.path, target)
            let created = try await provider.initClient(id).makeDirectory(path: path, user: user)
            guard created else { throw ConnectError(.alreadyExists, "directory \(path) already exists") }
            let info = try await provider.initClient(id).stat(path: path, user: user)
            return try ConnectStream.unary(EnvdFilesystem.EntryResponse(entry: .init(info)))
        case "Move":
            let m = try ProtoJSON.decode(EnvdFilesystem.MoveRequest.self, from: bytes)
            let (provider, source) = try await resolve(m.source, target)
            let (_, destination) = try await resolve(m.destination, target)
            try await provider.initClient(id).rename(from: source, to: destination, user: user)
            let info = try await provider.initClient(id).stat(path: destination, user: user)
            return try ConnectStream.unary(EnvdFilesystem.EntryResponse(entry: .init(info)))
        case "Remove":
            let m = try ProtoJSON.decode(EnvdFilesystem.PathRequest.self, from: bytes)
            let (provider, path) = try await resolve(m.path, target)
            try await provider.initClient(id).remove(path: path, user: user)
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

    private func resolve(_ path: String, _ target: E2BSandboxTarget) async throws -> (any SandboxProvider, String) {
        try await sessions.fileTarget(target.session.id, path: E2BPaths.resolve(path, user: target.user))
    }

    private func startWatching(_ m: EnvdFilesystem.WatchRequest, _ target: E2BSandboxTarget) async throws -> (
        Int, String, DirectorySnapshot
    ) {
        let (provider, path) = try await resolve(m.path, target)
        let info = try await provider.initClient(target.session.id).stat(path: path, user: target.user)
        guard info.kind == .directory else { throw ConnectError(.invalidArgument, "path \(path) is not a directory") }
        let depth = (m.recursive ?? false) ? 64 : 1
        return (depth, path, try await snapshot(path, depth: depth, target))
    }

    private func snapshot(_ path: String, depth: Int, _ target: E2BSandboxTarget) async throws -> DirectorySnapshot {
        let (provider, resolved) = try await resolve(path, target)
        let listing = try await provider.initClient(target.session.id).listDirectory(
            path: resolved, depth: depth, user: target.user)
        return DirectorySnapshot(root: resolved, listing: listing)
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
