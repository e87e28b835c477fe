import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockServices

/// Request context of the E2B-compatible API: camelCase JSON, as E2B's SDKs send it.
public struct E2BRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Name of the Paddock token the request authenticated with.
    public var tokenName: String?
    /// Who the request's token belongs to; nil only on the open routes.
    public var principal: Principal?

    /// The client's connection: a stream whose sandbox vanished resets it (see `ConnectStreamAborted`).
    public var channel: (any Channel)?

    public init(source: Source) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    public var requestDecoder: E2BRequestDecoder { E2BRequestDecoder() }

    func requirePrincipal() throws -> Principal {
        guard let principal else { throw PaddockError(.unauthenticated, "this route needs an API key") }
        return principal
    }

    /// Who the services act for: the API key's person.
    func caller() throws -> Caller { Caller(try requirePrincipal()) }
    public var responseEncoder: E2BResponseEncoder { E2BResponseEncoder() }
}

public struct E2BRequestDecoder: RequestDecoder {
    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws
        -> T
    {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: APIRequestDecoder.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw PaddockError.bodyTooLarge(limit: APIRequestDecoder.maxBodyBytes)
        }
        let data = buffer.readableBytes == 0 ? Data("{}".utf8) : Data(buffer.readableBytesView)
        let decoder = JSONDecoder()
        do { return try decoder.decode(T.self, from: data) } catch let error as DecodingError {
            if let finding = JSONNumberDiagnosis.diagnose(T.self, data: data, decoder: decoder) {
                throw PaddockError.invalidArgument("the request body is not valid: \(finding.message)")
            }
            throw PaddockError.invalidArgument("the request body is not valid: \(ProtoJSON.describe(error))")
        }
    }
}

public struct E2BResponseEncoder: ResponseEncoder {
    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response
    {
        let data = try ProtoJSON.encoder().encode(value)
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Request {
    /// A header by name, case-insensitively (E2B's `E2b-Sandbox-Id` and friends).
    func header(_ name: String) -> String? {
        headers.first { $0.name.canonicalName == name.lowercased() }?.value
    }
}
