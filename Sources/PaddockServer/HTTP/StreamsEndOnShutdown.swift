import Hummingbird
import ServiceLifecycle

/// Ends open streaming answers — `paddock top`, a run's events, a followed exec, the web UI's live page — when
/// the server is asked to stop. Without it a graceful shutdown waits for every open stream to end by itself,
/// and one browser tab left open on a session page keeps `paddock server` from ever exiting on SIGTERM.
///
/// A streaming answer is one without a length. Its writing task is cancelled: timers, event streams and
/// sandbox reads all end on cancellation, and the client sees the stream end.
struct StreamsEndOnShutdown<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await next(request, context)
        guard response.body.contentLength == nil else { return response }
        let body = response.body
        response.body = ResponseBody { writer in
            // The handler is removed when the operation returns, so the task it cancels is alive whenever it
            // runs; the box only carries it across the handler's `Sendable` boundary.
            let writing = withUnsafeCurrentTask { WritingTask($0) }
            try await withGracefulShutdownHandler {
                try await body.write(writer)
            } onGracefulShutdown: {
                writing.task?.cancel()
            }
        }
        return response
    }
}

private struct WritingTask: @unchecked Sendable {
    let task: UnsafeCurrentTask?
    init(_ task: UnsafeCurrentTask?) { self.task = task }
}
