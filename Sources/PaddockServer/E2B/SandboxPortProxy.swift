import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockSandbox
import PaddockServices

/// Forwards an HTTP request to a server listening on a port inside the sandbox (E2B's `get_host(port)`,
/// routed by `E2b-Sandbox-Port`). The request goes out as HTTP/1.0 with `Connection: close`, so the
/// answer is never chunked and ends when the server closes; it is streamed back as it arrives.
struct SandboxPortProxy {
    let sessions: SessionService
    /// Largest request body forwarded.
    static let maxRequestBytes = 64 << 20
    /// Largest response head accepted.
    static let maxHeadBytes = 64 << 10

    /// Headers that belong to one hop (or to E2B's routing and auth) and are not forwarded.
    static let hopHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host",
        "content-length", "e2b-sandbox-id", "e2b-sandbox-port", "x-access-token", "x-api-key",
        "e2b-traffic-access-token",
    ]

    func forward(_ request: Request, target: E2BSandboxTarget) async throws -> Response {
        let port = UInt16(target.port)
        let connection: any SandboxConnection
        do { connection = try await sessions.dial(target.session.id, port: port, by: target.caller) } catch let e
            as PaddockError
            where e.code == .notFound
        {
            return E2BErrorMiddleware.json(
                .badGateway,
                ConnectError(
                    .unavailable,
                    "The sandbox \(target.session.id) is running but port is not open: nothing listens on port \(port)")
            )
        }
        let body = try await request.body.collect(upTo: Self.maxRequestBytes)
        do {
            try await connection.write(Self.head(request, port: port, bodyLength: body.readableBytes))
            if body.readableBytes > 0 { try await connection.write(Array(body.readableBytesView)) }
            await connection.finishWriting()
            var iterator = connection.inbound.makeAsyncIterator()
            var buffered: [UInt8] = []
            var parsed: ResponseHead?
            while parsed == nil {
                parsed = try ResponseHead(parsing: buffered)
                if parsed != nil { break }
                guard buffered.count <= Self.maxHeadBytes, let chunk = try await iterator.next() else {
                    throw PaddockError.unavailable("the server on port \(port) closed without a complete HTTP answer")
                }
                buffered.append(contentsOf: chunk)
            }
            guard let head = parsed else { throw PaddockError.internal("unreachable") }
            let first = Array(buffered[head.length...])
            let inbound = connection.inbound
            let stream = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
                let task = Task {
                    if !first.isEmpty { continuation.yield(ByteBuffer(bytes: first)) }
                    do {
                        for try await chunk in inbound { continuation.yield(ByteBuffer(bytes: chunk)) }
                        continuation.finish()
                    } catch { continuation.finish(throwing: error) }
                    await connection.close()
                }
                continuation.onTermination = { _ in task.cancel() }
            }
            var headers = HTTPFields()
            for (name, value) in head.headers where !Self.hopHeaders.contains(name.lowercased()) {
                if let field = HTTPFields.Element.Name(name) {
                    headers.append(HTTPFields.Element(name: field, value: value))
                }
            }
            if let length = head.headers.first(where: { $0.0.lowercased() == "content-length" })?.1 {
                headers[.contentLength] = length
            }
            return Response(
                status: HTTPResponse.Status(code: head.status), headers: headers,
                body: ResponseBody(asyncSequence: stream))
        } catch {
            await connection.close()
            throw error
        }
    }

    static func head(_ request: Request, port: UInt16, bodyLength: Int) -> [UInt8] {
        var path = request.uri.path.isEmpty ? "/" : request.uri.path
        if let query = request.uri.query, !query.isEmpty { path += "?" + query }
        var text = "\(request.method.rawValue) \(path) HTTP/1.0\r\nHost: localhost:\(port)\r\nConnection: close\r\n"
        for field in request.headers where !hopHeaders.contains(field.name.canonicalName) {
            text += "\(field.name.rawName): \(field.value)\r\n"
        }
        if bodyLength > 0 || [.post, .put, .patch].contains(request.method) {
            text += "Content-Length: \(bodyLength)\r\n"
        }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Status line and headers of an HTTP/1.x answer.
    struct ResponseHead {
        var status: Int
        var headers: [(String, String)]
        /// Bytes of the head, including the blank line.
        var length: Int

        init?(parsing bytes: [UInt8]) throws {
            guard let end = MultipartFormData.find(Array("\r\n\r\n".utf8), in: bytes, from: 0) else { return nil }
            let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
            let statusParts = (lines.first ?? "").split(separator: " ", maxSplits: 2)
            guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/"), let status = Int(statusParts[1]),
                (100...599).contains(status)
            else {
                throw PaddockError.unavailable("the server in the sandbox did not answer with HTTP")
            }
            self.status = status
            headers = lines.dropFirst().compactMap { line in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (
                    String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                    String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                )
            }
            length = end + 4
        }
    }
}
