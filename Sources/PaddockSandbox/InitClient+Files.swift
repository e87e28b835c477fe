import PaddockCore
import PaddockInitProtocol

extension InitClient {
    /// The file's bytes as init reads them. "Not found" and friends are thrown here, before the caller starts a
    /// response; the bytes are backpressured (init stops reading the file while the consumer lags).
    public func readFile(path: String, user: SandboxUser) async throws -> BackpressuredStream<[UInt8]> {
        let transport = self.transport
        let (opened, openedSink) = AsyncThrowingStream<Void, any Error>.makeStream()
        let stream = BackpressuredStream<[UInt8]> { sink in
            do {
                try await transport.withConnection { connection in
                    var frames = InitFrames(connection)
                    try await frames.send(.readFile(path: path, user: WireUser(user)))
                    var first = true
                    while true {
                        let message = try await frames.expectReply("reading \(path)")
                        if first {
                            openedSink.finish()
                            first = false
                        }
                        switch message {
                        case .data(let bytes):
                            await sink.send(bytes)
                            try Task.checkCancellation()
                        case .end: return
                        default: throw PaddockError.internal("unexpected reply \(message) while reading \(path)")
                        }
                    }
                }
            } catch {
                openedSink.finish(throwing: error)
                throw error
            }
        }
        for try await _ in opened {}
        return stream
    }

    /// Writes `data` to `path` (created with `mode`, or appended to), chunked for the wire.
    public func writeFile(
        path: String, mode: UInt32, user: SandboxUser, append: Bool, data: BackpressuredStream<[UInt8]>
    ) async throws {
        try await transport.withConnection { connection in
            var frames = InitFrames(connection)
            try await frames.send(.writeFile(path: path, mode: mode, append: append, user: WireUser(user)))
            for try await chunk in data {
                var offset = 0
                while offset < chunk.count {
                    let end = min(chunk.count, offset + wireChunkSize)
                    try await frames.send(.data(Array(chunk[offset..<end])))
                    offset = end
                }
            }
            try await frames.send(.end)
            _ = try await frames.expectReply("writing \(path)")
        }
    }

    public func stat(path: String, user: SandboxUser) async throws -> SandboxFileInfo {
        let reply = try await unary(.stat(path: path, user: WireUser(user)), "stat of \(path)")
        guard case .files(let infos) = reply, let info = infos.first else {
            throw PaddockError.internal("unexpected reply \(reply)")
        }
        return info
    }

    /// The entries under `path`, `depth` levels deep (at least one).
    public func listDirectory(path: String, depth: Int, user: SandboxUser) async throws -> [SandboxFileInfo] {
        let request = WireMessage.listDir(path: path, depth: UInt32(clamping: max(1, depth)), user: WireUser(user))
        let reply = try await unary(request, "listing \(path)")
        guard case .files(let infos) = reply else { throw PaddockError.internal("unexpected reply \(reply)") }
        return infos
    }

    /// Creates the directory; false when it already existed.
    public func makeDirectory(path: String, user: SandboxUser) async throws -> Bool {
        do {
            _ = try await unary(.makeDir(path: path, user: WireUser(user)), "making \(path)")
            return true
        } catch let error as PaddockError where error.code == .alreadyExists {
            return false
        }
    }

    public func remove(path: String, user: SandboxUser) async throws {
        _ = try await unary(.remove(path: path, user: WireUser(user)), "removing \(path)")
    }

    /// Replaces a file's E2B metadata (its `user.e2b.*` extended attributes).
    public func setMetadata(path: String, metadata: [String: String], user: SandboxUser) async throws {
        _ = try await unary(.setMetadata(path: path, metadata: metadata, user: WireUser(user)), "labelling \(path)")
    }

    public func rename(from: String, to: String, user: SandboxUser) async throws {
        _ = try await unary(.rename(from: from, to: to, user: WireUser(user)), "renaming \(from)")
    }
}

/// A directory watched by inotify inside the sandbox (`InitClient.watch`).
public struct SandboxDirectoryWatch: Sendable {
    /// Batches of changes, oldest first; an empty batch answers `sync()`. The stream ends when the directory
    /// goes away; cancelling it closes the watch.
    public let events: BackpressuredStream<[WireFileEvent]>
    let writer: any InitWriter

    /// Asks init to pass on every change inotify has queued so far: an empty batch follows them. A change made
    /// before this call (a file written through init, whose reply came back) is therefore in a batch before it.
    public func sync() async throws { try await writer.write(WireMessage.hello.framed()) }
}

extension InitClient {
    /// Changes under `path` as inotify sees them inside the sandbox, until the consumer stops reading (the
    /// connection closes and init drops the watch) or the directory goes away (the stream ends). A directory
    /// that cannot be watched ("not found", "not a directory", no permission) is thrown here.
    public func watch(path: String, recursive: Bool, user: SandboxUser) async throws -> SandboxDirectoryWatch {
        let transport = self.transport
        let (opened, openedSink) = AsyncThrowingStream<any InitWriter, any Error>.makeStream()
        let stream = BackpressuredStream<[WireFileEvent]> { sink in
            do {
                try await transport.withConnection { connection in
                    var frames = InitFrames(connection)
                    try await frames.send(.watch(path: path, recursive: recursive, user: WireUser(user)))
                    guard case .ok = try await frames.expectReply("watching \(path)") else {
                        throw PaddockError.internal("unexpected reply while starting to watch \(path)")
                    }
                    openedSink.yield(connection.writer)
                    openedSink.finish()
                    while true {
                        let message = try await frames.expectReply("watching \(path)")
                        switch message {
                        case .fileEvents(let events):
                            await sink.send(events)
                            try Task.checkCancellation()
                        case .end: return
                        default: throw PaddockError.internal("unexpected reply \(message) while watching \(path)")
                        }
                    }
                }
            } catch {
                openedSink.finish(throwing: error)
                throw error
            }
        }
        var writer: (any InitWriter)?
        for try await w in opened { writer = w }
        guard let writer else { throw PaddockError.unavailable("the sandbox stopped before \(path) could be watched") }
        return SandboxDirectoryWatch(events: stream, writer: writer)
    }

    /// Opens the sandbox's sudo socket: from then on its processes may run commands as the sandbox's root with
    /// `sudo` (see paddock-init's `SudoClient`).
    public func enableSudo() async throws {
        let reply = try await unary(.enableSudo, "enabling sudo")
        guard case .ok = reply else { throw PaddockError.internal("unexpected reply \(reply)") }
    }
}
