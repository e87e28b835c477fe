import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import PaddockAPI
import PaddockCore
import PaddockServices
import PaddockWeb
import Tracing

/// Request context of the `/v1` API: snake_case JSON coders and the authenticated token.
public struct PaddockRequestContext: RequestContext, WebSocketRequestContext, WebRequestContext, TracedRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// Set by `TokenAuthMiddleware` once the bearer token checked out.
    public var tokenName: String?
    /// Set by `TokenAuthMiddleware`: who is calling and what they may do.
    public var principal: Principal?
    /// Set by the web UI's sign-in middleware on its pages: the person signed in through the browser.
    public var signedIn: SignedIn?
    /// The client's address: sign-in attempts are rate-limited per address.
    public let remoteAddress: SocketAddress?
    public var clientAddress: String? { remoteAddress?.ipAddress }
    /// Set by `RequestTracingMiddleware`: the request's span, for a WebSocket's work after the upgrade.
    public var trace: InstrumentationContext?

    public init(source: Source) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
    }

    public var requestDecoder: APIRequestDecoder { APIRequestDecoder() }
    public var responseEncoder: APIResponseEncoder { APIResponseEncoder() }
}

public struct APIRequestDecoder: RequestDecoder {
    /// The largest JSON body any route takes; files travel as raw bodies with their own limit.
    public static let maxBodyBytes = 1 << 20

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws
        -> T
    {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: APIRequestDecoder.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw PaddockError.bodyTooLarge(limit: APIRequestDecoder.maxBodyBytes)
        }
        return try Self.decode(T.self, from: Data(buffer.readableBytesView), what: "the request body")
    }

    /// Decodes an API message; a mismatch is an `invalidArgument` that names the field.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data, what: String) throws(PaddockError) -> T {
        let decoder = APICoding.decoder()
        do {
            return try decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            if let finding = JSONNumberDiagnosis.diagnose(T.self, data: data, decoder: decoder) {
                throw .invalidArgument("\(what) is not valid: \(finding.message)")
            }
            throw .invalidArgument("\(what) is not valid: \(Self.describe(error))")
        } catch {
            throw .invalidArgument("\(what) is not valid JSON")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : " at '\(p)'"
        }
        switch error {
        case .dataCorrupted(let c): return "malformed JSON\(path(c)): \(c.debugDescription)"
        case .keyNotFound(let key, let c): return "missing field '\(key.stringValue)'\(path(c))"
        case .typeMismatch(let t, let c): return "expected \(t)\(path(c))"
        case .valueNotFound(let t, let c): return "expected \(t)\(path(c)) but found null"
        @unknown default: return "\(error)"
        }
    }
}

public struct APIResponseEncoder: ResponseEncoder {
    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response
    {
        let data = try APICoding.encoder().encode(value)
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
