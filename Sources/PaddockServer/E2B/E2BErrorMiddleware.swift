import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// Answers errors in E2B's shapes: `{"code": <status>, "message"}` on the control plane; a Connect error
/// (`{"code": "not_found", "message"}`) on in-sandbox routes, which the SDK maps onto its exceptions.
struct E2BErrorMiddleware: RouterMiddleware {
    typealias Context = E2BRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as ConnectError {
            return Self.connectResponse(error)
        } catch let error as E2BSandboxUnavailable {
            return Self.unavailableResponse(error)
        } catch {
            let e = ErrorMiddleware<Context>.classify(error)
            if e.code == .internal {
                context.logger.error(
                    "E2B request failed", metadata: ["error": "\(error)", "request.path": "\(request.uri.path)"])
            }
            if request.header("e2b-sandbox-id") != nil { return Self.connectResponse(ConnectError(e)) }
            let status = e.code == .conflict ? HTTPResponse.Status.conflict : e.code.httpStatus
            return Self.json(status, E2B.ErrorBody(code: status.code, message: e.message))
        }
    }

    static func connectResponse(_ error: ConnectError) -> Response {
        Response(
            status: HTTPResponse.Status(code: error.code.httpStatus), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: error.json())))
    }

    /// What E2B's proxy answers for a sandbox that is not running: 502 and "… was not found".
    static func unavailableResponse(_ error: E2BSandboxUnavailable) -> Response {
        let body = ConnectError(.unavailable, error.message)
        return Response(
            status: .badGateway, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body.json())))
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let data = (try? ProtoJSON.encoder().encode(value)) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// In-sandbox traffic for a sandbox that is unknown, gone or paused (without auto-resume).
struct E2BSandboxUnavailable: Error, Sendable {
    var sandboxID: String
    var message: String {
        "The sandbox \(sandboxID) was not found: it does not exist, was killed, or is paused; resume a paused one "
            + "with Sandbox.connect()"
    }
}
