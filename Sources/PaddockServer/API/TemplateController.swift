import Foundation
import Hummingbird
import NIOCore
import PaddockAPI
import PaddockCore
import PaddockServices

/// `/v1/templates`: build (streaming progress as NDJSON), list, show and remove templates.
struct TemplateController {
    let sessions: SessionService
    var templates: TemplateService { TemplateService(sessions: sessions) }

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.post(use: build)
        group.get(use: list)
        group.get(":template", use: get)
        group.delete(":template", use: remove)
    }

    /// Validation errors answer with a status before the stream starts; after that, the stream's last line
    /// is the template or the error.
    @Sendable func build(_ request: Request, context: PaddockRequestContext) async throws -> Response {
        let body = try await request.decode(as: BuildTemplateBody.self, context: context)
        let spec = try body.spec()
        if let pool = body.pool, !(0...1000).contains(pool) {
            throw PaddockError.invalidArgument("a pool size must be 0 to 1000, not \(pool)")
        }
        let templates = self.templates
        let sessions = self.sessions
        let caller = try context.caller()
        let encoder = APICoding.encoder()
        let responseBody = ResponseBody { writer in
            let lines = AsyncStream<String>.makeStream()
            let build = Task {
                defer { lines.continuation.finish() }
                let provider = body.provider ?? "local"
                let result = try await templates.build(spec, provider: provider, by: caller) { line in
                    lines.continuation.yield(line)
                }
                if let size = body.pool {
                    _ = try await WarmPoolService(sessions: sessions).set(
                        provider: provider, template: spec.name, size: size, by: caller)
                    lines.continuation.yield("warm pool of \(spec.name) set to \(size); it fills in the background")
                }
                return result
            }
            do {
                for await line in lines.stream {
                    try await Self.write(TemplateBuildEvent(progress: line), encoder, &writer)
                }
            } catch {
                // The client went away: the build stops and cleans up after itself.
                build.cancel()
                throw error
            }
            do {
                let result = try await build.value
                try await Self.write(
                    TemplateBuildEvent(template: TemplateBody(result.template), cached: result.cached), encoder, &writer
                )
            } catch {
                let e = ErrorMiddleware<PaddockRequestContext>.classify(error)
                try await Self.write(
                    TemplateBuildEvent(error: .init(code: e.code.rawValue, message: e.message)), encoder, &writer)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: responseBody)
    }

    static func write(_ event: TemplateBuildEvent, _ encoder: JSONEncoder, _ writer: inout any ResponseBodyWriter)
        async throws
    {
        var line = try encoder.encode(event)
        line.append(0x0A)
        try await writer.write(ByteBuffer(bytes: line))
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> TemplateListBody {
        TemplateListBody(templates: try await templates.list().map(TemplateBody.init))
    }

    @Sendable func get(_ request: Request, context: PaddockRequestContext) async throws -> TemplateBody {
        TemplateBody(try await templates.get(try context.requiredParameter("template", "template name")))
    }

    @Sendable func remove(_ request: Request, context: PaddockRequestContext) async throws -> TemplateBody {
        TemplateBody(
            try await templates.remove(
                try context.requiredParameter("template", "template name"), by: try context.caller()))
    }
}
