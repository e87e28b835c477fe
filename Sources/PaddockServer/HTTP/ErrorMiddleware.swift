import Foundation
import Hummingbird
import Logging
import NIOCore
import PaddockAPI
import PaddockCore
import PaddockServices

extension PaddockError.Code {
    var httpStatus: HTTPResponse.Status { HTTPResponse.Status(code: httpStatusCode) }
}

/// Turns every error into the stable JSON shape `{"error": {"code", "message"}}`. Internal causes are
/// logged, never sent: a client sees the message written for it, or a generic one.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let e = Self.classify(error)
            if e.code == .internal {
                context.logger.error(
                    "request failed", metadata: ["error": "\(error)", "request.path": "\(request.uri.path)"])
            }
            return Self.response(e)
        }
    }

    static func classify(_ error: any Error) -> PaddockError {
        if let e = error as? PaddockError { return e }
        if error is NIOTooManyBytesError { return .bodyTooLarge(limit: nil) }
        if let e = error as? HTTPError {
            switch e.status {
            case .notFound: return .notFound(e.body ?? "no such route; see `paddock --help` for the API")
            case .contentTooLarge: return PaddockError(.payloadTooLarge, e.body ?? "the request body is too large")
            case .methodNotAllowed: return PaddockError(.invalidArgument, "method not allowed on this route")
            default:
                return PaddockError(
                    e.status.code < 500 ? .invalidArgument : .internal, e.body ?? e.status.reasonPhrase)
            }
        }
        if let e = error as? any HTTPResponseError {
            return PaddockError(
                e.status.code < 500 ? .invalidArgument : .internal,
                e.status.code < 500 ? e.status.reasonPhrase : "the server hit an internal error; see its log",
                underlying: error)
        }
        return .internal("the server hit an internal error; see its log", underlying: error)
    }

    static func response(_ e: PaddockError) -> Response {
        let body = (try? APICoding.encoder().encode(ErrorBody(code: e.code.rawValue, message: e.message))) ?? Data()
        return Response(
            status: e.code.httpStatus, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
