import Foundation
import Hummingbird
import NIOCore
import PaddockAPI
import PaddockCore
import PaddockSandbox
import PaddockServices

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
    let files: SessionFiles
    let maxUploadBytes: Int

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.put(":id/files", use: upload)
        group.get(":id/files", use: download)
        group.get(":id/files/stat", use: stat)
        group.get(":id/files/list", use: list)
        group.post(":id/files/mkdir", use: mkdir)
        group.delete(":id/files", use: remove)
    }

    private static func path(_ request: Request) throws -> String {
        guard let path = request.uri.queryParameters.get("path") else {
            throw PaddockError.invalidArgument("missing ?path=; give the file's path inside the sandbox")
        }
        return path
    }

    private static func user(_ request: Request) throws -> SandboxUser {
        try SessionService.user(request.uri.queryParameters.get("user"))
    }

    @Sendable func upload(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        FileInfoBody
    > {
        let id = try context.sessionID()
        let path = try Self.path(request)
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
        let stream = UploadStream.capped(request.body, limit: limit)
        defer { stream.cancel() }
        let info = try await files.write(id, path: path, mode: mode, user: user, data: stream, by: try context.caller())
        return EditedResponse(status: .created, response: FileInfoBody(info))
    }

    @Sendable func download(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        let (info, chunks) = try await files.read(
            try context.sessionID(), path: try Self.path(request), user: try Self.user(request),
            by: try context.caller())
        let body = ResponseBody(asyncSequence: chunks.map { ByteBuffer(bytes: $0) })
        return Response(
            status: .ok,
            headers: [.contentType: "application/octet-stream", .contentLength: String(info.size)], body: body)
    }

    @Sendable func stat(_ request: Request, context: PaddockRequestContext) async throws -> FileInfoBody {
        FileInfoBody(
            try await files.stat(
                try context.sessionID(), path: try Self.path(request), user: try Self.user(request),
                by: try context.caller()))
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> FileListBody {
        let depthText = request.uri.queryParameters.get("depth") ?? "1"
        guard let depth = Int(depthText) else {
            throw PaddockError.invalidArgument("depth must be a whole number from 1 to 64, not '\(depthText)'")
        }
        let entries = try await files.list(
            try context.sessionID(), path: try Self.path(request), depth: depth, user: try Self.user(request),
            by: try context.caller())
        return FileListBody(entries: entries.map(FileInfoBody.init))
    }

    @Sendable func mkdir(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        FileInfoBody
    > {
        let (created, info) = try await files.makeDirectory(
            try context.sessionID(), path: try Self.path(request), user: try Self.user(request),
            by: try context.caller())
        return EditedResponse(status: created ? .created : .ok, response: FileInfoBody(info))
    }

    @Sendable func remove(_ request: Request, context: PaddockRequestContext) async throws -> HTTPResponse.Status {
        try await files.remove(
            try context.sessionID(), path: try Self.path(request), user: try Self.user(request),
            by: try context.caller())
        return .noContent
    }
}

/// A request body as the sandbox pulls it: read no faster than init stores it, and refused past `limit`.
enum UploadStream {
    static func capped(_ body: RequestBody, limit: Int) -> BackpressuredStream<[UInt8]> {
        BackpressuredStream<[UInt8]> { sink in
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
    }
}
