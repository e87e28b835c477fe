import CompressNIO
import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockSandbox
import PaddockServices

/// envd's plain HTTP routes: `GET /health`, and `GET`/`POST /files` for downloads and uploads (raw
/// `application/octet-stream`, or `multipart/form-data` whose parts' filenames are the paths).
struct EnvdFilesController {
    let files: SessionFiles
    let maxUploadBytes: Int
    /// Multipart bodies are parsed in memory, so they get a smaller cap than streamed uploads.
    static let maxMultipartBytes = 128 << 20

    struct WrittenFile: Encodable {
        var name: String
        var type = "file"
        var path: String
        var metadata: [String: String]?
    }

    static let metadataHeaderPrefix = "x-metadata-"

    /// `X-Metadata-<key>: <value>` upload headers: E2B's file metadata, keys lowercased as envd does.
    static func metadata(_ request: Request) throws -> [String: String] {
        var out: [String: String] = [:]
        for field in request.headers where field.name.canonicalName.hasPrefix(metadataHeaderPrefix) {
            let key = String(field.name.canonicalName.dropFirst(metadataHeaderPrefix.count))
            guard !key.isEmpty, field.value.utf8.allSatisfy({ (0x20...0x7e).contains($0) }) else {
                throw PaddockError.invalidArgument(
                    "metadata '\(key)' is not valid: keys must be non-empty, values printable ASCII")
            }
            out[key] = field.value
        }
        return out
    }

    func download(_ request: Request, target: E2BSandboxTarget) async throws -> Response {
        let user = try Self.user(request, default: target.user)
        guard let raw = request.uri.queryParameters.get("path") else {
            throw PaddockError.invalidArgument("missing ?path=; give the file's path inside the sandbox")
        }
        let (info, chunks) = try await files.read(
            target.session.id, path: E2BPaths.resolve(raw, user: user), user: user, by: target.caller)
        // A length only for regular files: /proc and /sys files report size 0 but have content, so theirs is
        // sent chunked until the end.
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        if info.kind == .file && info.size > 0 { headers[.contentLength] = String(info.size) }
        return Response(
            status: .ok, headers: headers, body: ResponseBody(asyncSequence: chunks.map { ByteBuffer(bytes: $0) }))
    }

    func upload(_ request: Request, target: E2BSandboxTarget) async throws -> Response {
        let user = try Self.user(request, default: target.user)
        let metadata = try Self.metadata(request)
        let contentType = request.headers[.contentType] ?? "application/octet-stream"
        var request = request
        switch request.headers[.contentEncoding]?.lowercased() {
        case nil, "identity": break
        case "gzip": request.body = RequestBody(buffer: try await gunzipped(request.body))
        case let encoding?:
            throw PaddockError.invalidArgument(
                "Content-Encoding '\(encoding)' is not supported for uploads; send it uncompressed or gzip")
        }
        var written: [WrittenFile] = []
        if contentType.lowercased().hasPrefix("multipart/form-data") {
            guard let boundary = MultipartFormData.boundary(contentType: contentType) else {
                throw PaddockError.invalidArgument("the multipart upload has no boundary in its Content-Type")
            }
            let body = try await request.body.collect(upTo: Self.maxMultipartBytes)
            let form: MultipartFormData
            do { form = try MultipartFormData(body: Array(body.readableBytesView), boundary: boundary) } catch {
                throw PaddockError.invalidArgument("the multipart upload is malformed: \(error)")
            }
            let queryPath = request.uri.queryParameters.get("path")
            let files = form.parts.filter { $0.name == nil || $0.name == "file" }
            for part in files {
                guard let raw = (files.count == 1 ? queryPath : nil) ?? part.filename ?? queryPath, !raw.isEmpty else {
                    throw PaddockError.invalidArgument("a multipart file part has no filename; set it to the path")
                }
                let bytes = part.body
                written.append(
                    try await write(
                        raw, user: user, metadata: metadata, target: target,
                        data: BackpressuredStream { sink in if !bytes.isEmpty { await sink.send(bytes) } }))
            }
        } else {
            guard let raw = request.uri.queryParameters.get("path") else {
                throw PaddockError.invalidArgument("missing ?path=; give the file's path inside the sandbox")
            }
            let limit = maxUploadBytes
            let body = request.body
            let stream = UploadStream.capped(body, limit: limit)
            defer { stream.cancel() }
            written.append(try await write(raw, user: user, metadata: metadata, target: target, data: stream))
        }
        return E2BErrorMiddleware.json(.ok, written)
    }

    /// A gzip-encoded upload, decompressed in memory: compressed, it is capped like a multipart body, and
    /// decompressed like any upload.
    private func gunzipped(_ body: RequestBody) async throws -> ByteBuffer {
        var compressed: ByteBuffer
        do { compressed = try await body.collect(upTo: Self.maxMultipartBytes) } catch is NIOTooManyBytesError {
            throw PaddockError.bodyTooLarge(limit: Self.maxMultipartBytes)
        }
        do {
            return try compressed.decompress(with: .gzip(), maxSize: maxUploadBytes)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw PaddockError.bodyTooLarge(limit: maxUploadBytes)
        } catch {
            throw PaddockError.invalidArgument("the gzip-encoded upload cannot be decompressed: \(error)")
        }
    }

    private func write(
        _ raw: String, user: SandboxUser, metadata: [String: String], target: E2BSandboxTarget,
        data: BackpressuredStream<[UInt8]>
    ) async throws -> WrittenFile {
        let path = E2BPaths.resolve(raw, user: user)
        let info = try await files.write(
            target.session.id, path: path, user: user, createParents: true, metadata: metadata, data: data,
            by: target.caller)
        return WrittenFile(
            name: (path as NSString).lastPathComponent, path: path,
            metadata: info.metadata.isEmpty ? nil : info.metadata)
    }

    /// `?username=` wins over the Basic authorization user.
    static func user(_ request: Request, default user: SandboxUser) throws -> SandboxUser {
        guard let name = request.uri.queryParameters.get("username"), !name.isEmpty else { return user }
        return try E2BSandboxTarget.user(named: name)
    }
}
