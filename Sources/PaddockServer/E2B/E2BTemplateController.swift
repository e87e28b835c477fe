import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockServices

/// E2B's template-build routes (`Template.build`, `build_in_background`, `get_build_status`) over
/// `E2BTemplateBuilds`, which runs them as Paddock template builds.
struct E2BTemplateController {
    let builds: E2BTemplateBuilds

    func addRoutes(to router: Router<E2BRequestContext>) {
        router.post("/v3/templates", use: reserve)
        router.get("/templates/:id/files/:hash", use: uploadLink)
        router.put("\(E2BTemplateBuilds.uploadPath)/:secret", use: upload)
        router.post("/v2/templates/:id/builds/:build", use: start)
        router.get("/templates/:id/builds/:build/status", use: status)
    }

    @Sendable func reserve(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let body = try await request.decode(as: E2B.TemplateBuildRequest.self, context: context)
        return E2BErrorMiddleware.json(.accepted, try await builds.reserve(body, caller: try context.caller()))
    }

    @Sendable func uploadLink(_ request: Request, context: E2BRequestContext) async throws -> Response {
        // The link names this listener as the client reached it.
        let host = request.head.authority ?? "127.0.0.1"
        let link = try await builds.uploadLink(
            templateID: try Self.parameter("id", context), hash: try Self.parameter("hash", context),
            caller: try context.caller(), origin: "http://\(host)")
        return E2BErrorMiddleware.json(.created, link)
    }

    /// The upload link's secret is its credential: the SDK sends the archive there with no key.
    @Sendable func upload(_ request: Request, context: E2BRequestContext) async throws -> HTTPResponse.Status {
        let secret = try Self.parameter("secret", context)
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: TemplateContextFile.maxTotalBytes)
        } catch is NIOTooManyBytesError {
            throw PaddockError.invalidArgument(
                "the files of one COPY step must stay under \(TemplateContextFile.maxTotalBytes >> 20) MiB "
                    + "(compressed); large inputs belong in RUN steps' downloads")
        }
        try await builds.receiveUpload(secret: secret, data: Data(body.readableBytesView))
        return .ok
    }

    @Sendable func start(_ request: Request, context: E2BRequestContext) async throws -> HTTPResponse.Status {
        let body = try await request.decode(as: E2B.TemplateBuildStart.self, context: context)
        try await builds.start(
            templateID: try Self.parameter("id", context), buildID: try Self.parameter("build", context), body,
            caller: try context.caller())
        return .accepted
    }

    @Sendable func status(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let offset = request.uri.queryParameters.get("logsOffset").flatMap { Int($0) } ?? 0
        let info = try await builds.status(
            templateID: try Self.parameter("id", context), buildID: try Self.parameter("build", context),
            logsOffset: offset, caller: try context.caller())
        return E2BErrorMiddleware.json(.ok, info)
    }

    static func parameter(_ name: String, _ context: E2BRequestContext) throws -> String {
        guard let value = context.parameters.get(name), !value.isEmpty else {
            throw PaddockError.invalidArgument("the path needs a \(name)")
        }
        return value.removingPercentEncoding ?? value
    }
}
