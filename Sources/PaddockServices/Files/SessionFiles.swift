import Foundation
import PaddockCore
import PaddockInitProtocol
import PaddockSandbox

/// Files inside a session, for every door (REST, the E2B API, and the web UI and MCP to come). It resolves
/// paths against the session's working directory and checks them, authorizes the caller (reading needs
/// `read`, changing needs `write`), and records every change — write, mkdir, remove, rename — in the audit
/// trail before the door reports it done, so no door can forget to.
public struct SessionFiles: Sendable {
    let sessions: SessionService

    public init(sessions: SessionService) { self.sessions = sessions }

    public func stat(_ id: SessionID, path: String, user: SandboxUser, by caller: Caller) async throws
        -> SandboxFileInfo
    {
        let (client, resolved, _) = try await target(id, path, caller, needs: .read)
        return try await client.stat(path: resolved, user: user)
    }

    public func list(_ id: SessionID, path: String, depth: Int, user: SandboxUser, by caller: Caller) async throws
        -> [SandboxFileInfo]
    {
        guard (1...64).contains(depth) else {
            throw PaddockError.invalidArgument("depth must be a whole number from 1 to 64, not \(depth)")
        }
        let (client, resolved, _) = try await target(id, path, caller, needs: .read)
        return try await client.listDirectory(path: resolved, depth: depth, user: user)
    }

    /// A file's metadata and its content, streamed. A directory is refused: it has no content to read.
    public func read(_ id: SessionID, path: String, user: SandboxUser, by caller: Caller) async throws -> (
        info: SandboxFileInfo, content: BackpressuredStream<[UInt8]>
    ) {
        let (client, resolved, _) = try await target(id, path, caller, needs: .read)
        let info = try await client.stat(path: resolved, user: user)
        guard info.kind != .directory else {
            throw PaddockError.invalidArgument(
                "\(resolved) is a directory; list it, or copy it with `paddock cp -r`")
        }
        return (info, try await client.readFile(path: resolved, user: user))
    }

    /// Writes a file atomically (the sandbox's supervisor writes a temp file and renames it), creating its
    /// parent directories first when `createParents`; records `file.write` with the size written. A new file
    /// has no metadata (E2B's `user.e2b.*` attributes) but `metadata`.
    public func write(
        _ id: SessionID, path: String, mode: UInt32 = 0o644, user: SandboxUser, createParents: Bool = false,
        metadata: [String: String] = [:], data: BackpressuredStream<[UInt8]>, by caller: Caller
    ) async throws -> SandboxFileInfo {
        guard mode <= 0o7777 else {
            throw PaddockError.invalidArgument("mode \(String(mode, radix: 8)) is not a file mode like 644 or 755")
        }
        let (client, resolved, _) = try await target(id, path, caller, needs: .write)
        if createParents {
            let parent = (resolved as NSString).deletingLastPathComponent
            if !parent.isEmpty && parent != "/", try await client.makeDirectory(path: parent, user: user) {
                try await sessions.record(id, "file.mkdir", ["path": .string(parent)], by: caller)
            }
        }
        try await client.writeFile(path: resolved, mode: mode, user: user, append: false, data: data)
        if !metadata.isEmpty { try await client.setMetadata(path: resolved, metadata: metadata, user: user) }
        let info = try await client.stat(path: resolved, user: user)
        try await sessions.record(
            id, "file.write", ["path": .string(resolved), "bytes": .int(Int64(info.size))], by: caller)
        return info
    }

    /// Makes a directory (and its parents); `created` is false when it was there already (nothing recorded).
    public func makeDirectory(_ id: SessionID, path: String, user: SandboxUser, by caller: Caller) async throws -> (
        created: Bool, info: SandboxFileInfo
    ) {
        let (client, resolved, _) = try await target(id, path, caller, needs: .write)
        let created = try await client.makeDirectory(path: resolved, user: user)
        if created { try await sessions.record(id, "file.mkdir", ["path": .string(resolved)], by: caller) }
        return (created, try await client.stat(path: resolved, user: user))
    }

    public func remove(_ id: SessionID, path: String, user: SandboxUser, by caller: Caller) async throws {
        let (client, resolved, _) = try await target(id, path, caller, needs: .write)
        try await client.remove(path: resolved, user: user)
        try await sessions.record(id, "file.remove", ["path": .string(resolved)], by: caller)
    }

    public func rename(_ id: SessionID, from: String, to: String, user: SandboxUser, by caller: Caller) async throws
        -> SandboxFileInfo
    {
        let (client, source, workdir) = try await target(id, from, caller, needs: .write)
        let destination = try Self.checked(SessionService.resolve(to, against: workdir))
        try await client.rename(from: source, to: destination, user: user)
        try await sessions.record(
            id, "file.rename", ["path": .string(source), "to": .string(destination)], by: caller)
        return try await client.stat(path: destination, user: user)
    }

    /// Changes under a directory as they happen (inotify inside the sandbox), batch by batch; `recursive` follows
    /// the directories below it too. Watching reads, so it needs `read`; the stream ends when the directory goes.
    public func watch(_ id: SessionID, path: String, recursive: Bool, user: SandboxUser, by caller: Caller)
        async throws -> (path: String, watch: SandboxDirectoryWatch)
    {
        let (client, resolved, _) = try await target(id, path, caller, needs: .read)
        return (resolved, try await client.watch(path: resolved, recursive: recursive, user: user))
    }

    /// The session's init client (a paused session is resumed: file work is the signal it is wanted) and the path
    /// made absolute against its working directory, after the caller is authorized.
    private func target(_ id: SessionID, _ path: String, _ caller: Caller, needs permission: Permission) async throws
        -> (client: InitClient, path: String, workdir: String)
    {
        try InputLimits.checkPath(path, field: "path")
        let (session, provider) = try await sessions.runningProvider(id, for: caller, needs: permission)
        let workdir = session.spec.workdir
        let resolved = try Self.checked(SessionService.resolve(path, against: workdir))
        return (try await provider.initClient(id), resolved, workdir)
    }

    private static func checked(_ path: String) throws -> String {
        try InputLimits.checkPath(path, field: "path")
        return path
    }
}
