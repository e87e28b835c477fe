import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PaddockAPI
import PaddockCore

/// Talks to a Paddock server's `/v1` API. Finds it at `PADDOCK_URL` (default http://127.0.0.1:7070) and
/// authenticates with `PADDOCK_TOKEN`, or else the admin token a local server wrote to its data dir.
struct APIClient: Sendable {
    let baseURL: String
    let token: String

    static func fromEnvironment() throws -> APIClient {
        let env = ProcessInfo.processInfo.environment
        let url = (env["PADDOCK_URL"] ?? "http://127.0.0.1:7070").trimmingCharacters(
            in: CharacterSet(charactersIn: "/"))
        if let token = env["PADDOCK_TOKEN"], !token.isEmpty { return APIClient(baseURL: url, token: token) }
        let dataDir = env["PADDOCK_DATA_DIR"] ?? FileManager.default.currentDirectoryPath + "/.paddock"
        let path = dataDir + "/admin.token"
        guard
            let token = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(
                in: .whitespacesAndNewlines),
            !token.isEmpty
        else {
            throw PaddockError(
                .unauthenticated,
                "no token: set PADDOCK_TOKEN, or run next to a local server's data dir (\(path) was not readable; set PADDOCK_DATA_DIR)"
            )
        }
        return APIClient(baseURL: url, token: token)
    }

    var webSocketBase: String {
        if baseURL.hasPrefix("https://") { return "wss://" + baseURL.dropFirst("https://".count) }
        return "ws://" + baseURL.dropFirst("http://".count)
    }

    static func query(_ items: [String: String]) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?/")
        return items.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.value)" }
            .joined(separator: "&")
    }

    private func request(_ method: HTTPMethod, _ path: String, body: HTTPClientRequest.Body? = nil) -> HTTPClientRequest
    {
        var r = HTTPClientRequest(url: baseURL + path)
        r.method = method
        r.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            r.body = body
            r.headers.add(name: "Content-Type", value: "application/json")
        }
        return r
    }

    /// Sends a request and decodes the JSON answer; error bodies become PaddockErrors with the server's message.
    func call<T: Decodable>(_ method: HTTPMethod, _ path: String, json: (any Encodable)? = nil, as: T.Type) async throws
        -> T
    {
        let data = try await raw(method, path, json: json)
        return try APICoding.decoder().decode(T.self, from: data)
    }

    func raw(_ method: HTTPMethod, _ path: String, json: (any Encodable)? = nil) async throws -> Data {
        let body = try json.map { HTTPClientRequest.Body.bytes(ByteBuffer(bytes: try APICoding.encoder().encode($0))) }
        let response = try await send(request(method, path, body: body))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        let data = Data(bytes.readableBytesView)
        try Self.check(response.status, data)
        return data
    }

    /// Sends a request whose answer is NDJSON and hands over each line as it arrives.
    func streamLines(
        _ method: HTTPMethod, _ path: String, json: (any Encodable)? = nil, _ onLine: (Data) async throws -> Void
    ) async throws {
        let body = try json.map { HTTPClientRequest.Body.bytes(ByteBuffer(bytes: try APICoding.encoder().encode($0))) }
        let response = try await send(request(method, path, body: body))
        if response.status.code >= 300 {
            try Self.check(response.status, Data(try await response.body.collect(upTo: 1 << 20).readableBytesView))
        }
        var splitter = LineSplitter(maxLineLength: Self.maxStreamedLine)
        for try await buffer in response.body {
            for line in splitter.feed(buffer.readableBytesView) { try await Self.deliver(line, onLine) }
        }
        if let last = splitter.finish() { try await Self.deliver(last, onLine) }
    }

    /// A run's or a build's events are small; a line this long means the stream is not what it should be.
    static let maxStreamedLine = 16 << 20

    private static func deliver(_ line: LineSplitter.Line, _ onLine: (Data) async throws -> Void) async throws {
        guard !line.truncated else {
            throw PaddockError.internal(
                "the server sent an event over \(ByteSize(bytes: UInt64(maxStreamedLine))); check that PADDOCK_URL "
                    + "points at a Paddock server of the same version as this CLI")
        }
        if !line.bytes.isEmpty { try await onLine(Data(line.bytes)) }
    }

    func send(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        do {
            return try await Self.http.execute(request, timeout: .hours(24))
        } catch let error as PaddockError {
            // Thrown by the request's own body: a local file that could not be read.
            throw error
        } catch let error as HTTPClientError where error == .bodyLengthMismatch {
            throw PaddockError(
                .conflict,
                "the local file changed size while it was being sent; copy it again once nothing writes to it",
                underlying: error)
        } catch {
            throw PaddockError.unavailable(
                "cannot reach the Paddock server at \(baseURL); start it with `paddock server` (or `make run`) or set PADDOCK_URL",
                underlying: error)
        }
    }

    /// One client for the process. A refused connection fails at once (the default keeps retrying until
    /// the request deadline, which for a CLI looks like a hang when the server is simply not running).
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(5)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    static func check(_ status: HTTPResponseStatus, _ data: Data) throws {
        guard status.code >= 300 else { return }
        if let e = try? APICoding.decoder().decode(ErrorBody.self, from: data) {
            throw PaddockError(PaddockError.Code(rawValue: e.error.code), e.error.message)
        }
        throw PaddockError.internal("the server answered \(status.code) \(status.reasonPhrase)")
    }

    /// Uploads a local file's content, read as it is sent, to `path` in the session.
    func upload(session: String, path: String, mode: UInt32, from file: LocalFile) async throws -> FileInfoBody {
        var r = request(
            .PUT, "/v1/sessions/\(session)/files?" + Self.query(["path": path, "mode": String(mode, radix: 8)]))
        r.body = .stream(file.chunks(), length: file.size.map { .known(Int64($0)) } ?? .unknown)
        r.headers.add(name: "Content-Type", value: "application/octet-stream")
        let response = try await send(r)
        let data = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        try Self.check(response.status, data)
        return try APICoding.decoder().decode(FileInfoBody.self, from: data)
    }

    /// Streams a file of the session into `sink`.
    func download(session: String, path: String, into sink: LocalFile) async throws {
        let r = request(.GET, "/v1/sessions/\(session)/files?" + Self.query(["path": path]))
        let response = try await send(r)
        if response.status.code >= 300 {
            let data = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
            try Self.check(response.status, data)
        }
        for try await buffer in response.body { try buffer.withUnsafeReadableBytes { try sink.write($0) } }
    }
}
