import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PaddockCore

/// Sends one outbox message: a JSON POST, with a bearer token when the message names a credential, and returns
/// the response body. Throws when it was not delivered (unreachable, or a status that is not 2xx), so the
/// outbox tries again later. Also fetches (GET) what a trigger needs to know, such as a pull request's branch.
public protocol OutboxSender: Sendable {
    @discardableResult
    func send(url: String, body: String, bearer: String?) async throws -> Data
    func get(url: String, bearer: String?) async throws -> Data
}

/// The outbox over HTTP (AsyncHTTPClient), with a short timeout: a slow receiver waits for the next attempt,
/// not the whole outbox.
public struct HTTPOutboxSender: OutboxSender {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    @discardableResult
    public func send(url: String, body: String, bearer: String?) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.body = .bytes(ByteBuffer(string: body))
        return try await execute(request, url: url, bearer: bearer)
    }

    public func get(url: String, bearer: String?) async throws -> Data {
        try await execute(HTTPClientRequest(url: url), url: url, bearer: bearer)
    }

    private func execute(_ prepared: HTTPClientRequest, url: String, bearer: String?) async throws -> Data {
        var request = prepared
        request.headers.add(name: "User-Agent", value: "paddock")
        request.headers.add(name: "Accept", value: "application/json, application/vnd.github+json")
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
            bytes = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw PaddockError.unavailable("cannot reach \(Self.hostOf(url))", underlying: error)
        }
        guard (200..<300).contains(response.status.code) else {
            throw PaddockError.unavailable("\(Self.hostOf(url)) answered HTTP \(response.status.code)")
        }
        return Data(bytes.readableBytesView)
    }

    /// Only the host goes into errors and logs: a URL's path or query may carry a token (Slack's response URLs).
    static func hostOf(_ url: String) -> String { URL(string: url)?.host ?? "the receiver" }
}
