import HTTPTypes
import Hummingbird
import PaddockObservability
import Tracing

/// One trace per API request: a server span named for the route, continuing the client's trace when the request
/// carries W3C trace context (`traceparent`). The services' spans (session start, exec, the provider and
/// paddock-init calls) are its children.
///
/// It records the method, the route pattern, the status and the session the path names — not the query string,
/// the headers or the body, which can hold tokens, sign-in codes and secrets.
struct RequestTracingMiddleware<Context: TracedRequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var parent = InstrumentationContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
        let span = startSpan("HTTP \(request.method.rawValue)", context: parent, ofKind: .server)
        defer { span.end() }
        span.updateAttributes { attributes in
            attributes["http.request.method"] = request.method.rawValue
            attributes["url.path"] = Self.pathWithoutSecrets(request.uri.path)
        }
        PaddockTracing.tag(span, session: Self.session(inPath: request.uri.path))
        do {
            var traced = context
            traced.trace = span.context
            let response = try await InstrumentationContext.$current.withValue(span.context) {
                try await next(request, traced)
            }
            if let route = context.endpointPath { span.operationName = "HTTP \(request.method.rawValue) \(route)" }
            span.updateAttributes { attributes in
                attributes["http.route"] = context.endpointPath
                attributes["http.response.status_code"] = Int(response.status.code)
            }
            if response.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
            return response
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// The id in `/v1/sessions/{id}/…`, if the path has one.
    static func session(inPath path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 3, parts[0] == "v1", parts[1] == "sessions" else { return nil }
        return String(parts[2])
    }

    /// Paths are recorded up to the first segment that is not part of the API's shape; preview share links and
    /// sign-in callbacks put one-use tokens in the path, so only `/v1/…` paths are kept whole.
    static func pathWithoutSecrets(_ path: String) -> String {
        path.hasPrefix("/v1/") ? path : "/" + (path.split(separator: "/").first.map(String.init) ?? "")
    }
}

/// A request context that carries its request's trace, for work that runs after the handler returned: a
/// WebSocket's handler runs once the upgrade is answered, outside the middleware's scope.
protocol TracedRequestContext: RequestContext {
    var trace: InstrumentationContext? { get set }
}

/// Reads W3C trace context (and any other propagated field) from request headers.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        guard let name = HTTPField.Name(key) else { return nil }
        return carrier[name]
    }
}
