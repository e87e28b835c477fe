import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockSandbox

/// Files inside a session. Paths come as the `path` query parameter; relative paths are relative to the
/// session's working directory.
///
/// - `PUT /v1/sessions/{id}/files?path=P[&mode=644]`: body is the content (streamed, size-capped). The
///   file appears atomically (temp file + rename inside the sandbox), so a failed or oversized upload
///   leaves nothing behind.
/// - `GET /v1/sessions/{id}/files?path=P`: the content, streamed.
/// - `GET /v1/sessions/{id}/files/stat?path=P`, `GET …/files/list?path=P[&depth=N]`
/// - `POST …/files/mkdir?path=P`, `DELETE …/files?path=P`
struct FileController {
    let sessions: SessionService
    let maxUploadBytes: Int

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.put(":id/files", use: upload)
        group.get(":id/files", use: download)
        group.get(":id/files/stat", use: stat)
        group.get(":id/files/list", use: list)
        group.post(":id/files/mkdir", use: mkdir)
        group.delete(":id/files", use: remove)
    }

    private func target(_ request: Request, _ context: PaddockRequestContext) async throws -> (
        any SandboxProvider, SessionID, String
    ) {
        let id = try context.sessionID()
        guard let path = request.uri.queryParameters.get("path") else {
            throw PaddockError.invalidArgument("missing ?path=; give the file's path inside the sandbox")
        }
        let (provider, resolved) = try await sessions.fileTarget(id, path: path)
        return (provider, id, resolved)
    }

    private static func user(_ request: Request) throws -> SandboxUser {
        try SessionService.user(request.uri.queryParameters.get("user"))
    }

    @Sendable func upload(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        FileInfoBody
    > {
        let (provider, id, path) = try await target(request, context)
        let user = try Self.user(request)
        let modeText = request.uri.queryParameters.get("mode") ?? "644"
        guard let mode = UInt32(modeText, radix: 8), mode <= 0o7777 else {
            throw PaddockError.invalidArgument("mode '\(modeText)' is not an octal file mode like 644 or 755")
        }
        let limit = maxUploadBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw PaddockError(
                .payloadTooLarge, "the upload is \(length) bytes; this server accepts at most \(limit) (--max-upload)")
        }
        let body = request.body
        // Pulled as the sandbox writes: the request body is read no faster than init stores it.
        let stream = BackpressuredStream<[UInt8]> { sink in
            var total = 0
            for try await buffer in body {
                total += buffer.readableBytes
                guard total <= limit else {
                    throw PaddockError(
                        .payloadTooLarge,
                        "the upload exceeds \(limit) bytes, the most this server accepts (--max-upload)")
                }
                await sink.send(Array(buffer.readableBytesView))
                try Task.checkCancellation()
            }
        }
        defer { stream.cancel() }
        try await provider.initClient(id).writeFile(path: path, mode: mode, user: user, append: false, data: stream)
        let info = try await provider.initClient(id).stat(path: path, user: user)
        try await sessions.recordFileChange(id, kind: "file.write", path: path, bytes: Int64(info.size))
        return EditedResponse(status: .created, response: FileInfoBody(info))
    }

    @Sendable func download(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        let (provider, id, path) = try await target(request, context)
        let user = try Self.user(request)
        let info = try await provider.initClient(id).stat(path: path, user: user)
        guard info.kind != .directory else {
            throw PaddockError.invalidArgument(
                "\(path) is a directory; list it with /files/list or copy it with `paddock cp -r`")
        }
        let chunks = try await provider.initClient(id).readFile(path: path, user: user)
        let body = ResponseBody(asyncSequence: chunks.map { ByteBuffer(bytes: $0) })
        return Response(
            status: .ok,
            headers: [.contentType: "application/octet-stream", .contentLength: String(info.size)], body: body)
    }

    @Sendable func stat(_ request: Request, context: PaddockRequestContext) async throws -> FileInfoBody {
        let (provider, id, path) = try await target(request, context)
        return FileInfoBody(try await provider.initClient(id).stat(path: path, user: try Self.user(request)))
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> FileListBody {
        let (provider, id, path) = try await target(request, context)
        let depthText = request.uri.queryParameters.get("depth") ?? "1"
        guard let depth = Int(depthText), (1...64).contains(depth) else {
            throw PaddockError.invalidArgument("depth must be a whole number from 1 to 64, not '\(depthText)'")
        }
        let entries = try await provider.initClient(id).listDirectory(
            path: path, depth: depth, user: try Self.user(request))
        return FileListBody(entries: entries.map(FileInfoBody.init))
    }

    @Sendable func mkdir(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        FileInfoBody
    > {
        let (provider, id, path) = try await target(request, context)
        let user = try Self.user(request)
        let created = try await provider.initClient(id).makeDirectory(path: path, user: user)
        if created { try await sessions.recordFileChange(id, kind: "file.mkdir", path: path) }
        let info = try await provider.initClient(id).stat(path: path, user: user)
        return EditedResponse(status: created ? .created : .ok, response: FileInfoBody(info))
    }

    @Sendable func remove(_ request: Request, context: PaddockRequestContext) async throws -> HTTPResponse.Status {
        let (provider, id, path) = try await target(request, context)
        try await provider.initClient(id).remove(path: path, user: try Self.user(request))
        try await sessions.recordFileChange(id, kind: "file.remove", path: path)
        return .noContent
    }
}
