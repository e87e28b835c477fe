import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockServices

/// E2B's template-build routes (`Template.build`, `build_in_background`, `get_build_status`) over
/// `E2BTemplateBuilds`, which runs them as Paddock template builds.
struct E2BTemplateController {
    let builds: E2BTemplateBuilds
    let templates: TemplateService

    func addRoutes(to router: Router<E2BRequestContext>) {
        router.post("/v3/templates", use: reserve)
        router.get("/templates/:id/files/:hash", use: uploadLink)
        router.put("\(E2BTemplateBuilds.uploadPath)/:secret", use: upload)
        router.post("/v2/templates/:id/builds/:build", use: start)
        router.get("/templates/:id/builds/:build/status", use: status)
        router.post("/templates/tags", use: assignTags)
        router.delete("/templates/tags", use: removeTags)
        router.get("/templates/:id/tags", use: tags)
    }

    // MARK: Tags (names of a template's one version)

    @Sendable func assignTags(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let body = try await request.decode(as: E2B.AssignTags.self, context: context)
        let (name, tag) = Self.split(body.target)
        let template = try await templates.get(name)
        if let tag, tag != "default", !(template.tags ?? []).contains(tag) {
            throw PaddockError.notFound("template \(name) has no tag '\(tag)'; Template.get_tags lists its tags")
        }
        let tagged = try await templates.tag(name, body.tags, by: try context.caller())
        return E2BErrorMiddleware.json(.created, E2B.AssignedTags(buildID: E2B.buildID(tagged), tags: body.tags))
    }

    @Sendable func removeTags(_ request: Request, context: E2BRequestContext) async throws -> HTTPResponse.Status {
        let body = try await request.decode(as: E2B.RemoveTags.self, context: context)
        try await templates.untag(Self.split(body.name).name, body.tags, by: try context.caller())
        return .noContent
    }

    @Sendable func tags(_ request: Request, context: E2BRequestContext) async throws -> Response {
        let template = try await templates.get(Self.split(try Self.parameter("id", context)).name)
        let tags = (template.tags ?? []).map {
            E2B.TemplateTag(tag: $0, buildID: E2B.buildID(template), createdAt: E2B.rfc3339(template.createdAt))
        }
        return E2BErrorMiddleware.json(.ok, tags)
    }

    /// `name:tag` as its two parts.
    static func split(_ target: String) -> (name: String, tag: String?) {
        let parts = target.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        return (parts[0], parts.count > 1 ? parts[1] : nil)
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
