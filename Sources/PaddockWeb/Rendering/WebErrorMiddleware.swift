import Hummingbird
import Logging
import PaddockCore

/// Turns what goes wrong on a page into a page: the status a browser should get and a sentence saying what to
/// do, in the site's layout. Internal failures say only that something failed; the detail goes to the log.
struct WebErrorMiddleware<Context: WebRequestContext>: RouterMiddleware {
    let pages: PageRenderer

    struct ErrorPage: Sendable {
        var chrome: Chrome?
        var heading: String
        var message: String
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do { return try await next(request, context) } catch {
            let (status, message) = Self.describe(error)
            if status == .internalServerError {
                context.logger.error(
                    "a page failed", metadata: ["request.path": "\(request.uri.path)", "error": "\(error)"])
            }
            let heading =
                switch status {
                case .notFound: "Not found"
                case .forbidden: "Not allowed"
                case .unauthorized: "Sign in again"
                case .badRequest: "Something is missing"
                case .conflict: "That cannot be done right now"
                default: "Something went wrong"
                }
            return try pages.page(
                "error",
                ErrorPage(chrome: context.signedIn.map { Chrome($0, tab: "") }, heading: heading, message: message),
                status: status)
        }
    }

    static func describe(_ error: any Error) -> (HTTPResponse.Status, String) {
        if let e = error as? HTTPError {
            return (e.status, e.body ?? "The page could not be shown.")
        }
        if let e = error as? PaddockError {
            let status = HTTPResponse.Status(code: e.code.httpStatusCode)
            return (status, status == .internalServerError ? "The server could not do that; try again." : e.message)
        }
        return (.internalServerError, "The server could not do that; try again.")
    }
}
