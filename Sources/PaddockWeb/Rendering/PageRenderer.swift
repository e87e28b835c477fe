import Foundation
import Hummingbird
import Mustache

/// Renders the UI's pages from the Mustache templates shipped with the module. Every value is HTML-escaped
/// by `{{name}}`; no template uses the unescaped form, because agent output, file names and prompts are
/// written by whoever controls the sandbox (a prompt-injected agent prints `<script>`). The test suite
/// checks that no template contains `{{{` or `{{&`.
public struct PageRenderer: Sendable {
    let library: MustacheLibrary

    /// The pages every build ships; loading fails at start-up, not at the first visit, when one is missing.
    static let required = [
        "layout", "signin", "invite", "start", "sessions", "session", "changes", "approvals", "reviews", "review",
        "audit", "replay", "org", "usage-chart", "admin-nav", "admin-members", "admin-invites", "admin-tokens",
        "admin-projects", "admin-project", "admin-project-form", "admin-secrets", "admin-budget", "admin-policy",
        "error",
    ]

    /// Loads the templates from the module's resources. (The resources are copied as one `Resources` folder;
    /// Foundation on Linux takes such a bundle for an Apple-style one and reports `Resources/Resources` as its
    /// resource folder, so the path is built from the bundle's own.)
    public static func load() async throws -> PageRenderer {
        let root = Bundle.module.bundleURL.appendingPathComponent("Resources/Templates").path
        let library = try await MustacheLibrary(directory: root)
        for name in required where library.getTemplate(named: name) == nil {
            throw WebError.missingResources("templates (\(name).mustache in \(root))")
        }
        return PageRenderer(library: library)
    }

    /// The page `name` filled from `model`, inside the layout, as an HTML response.
    func page(_ name: String, _ model: some Sendable, status: HTTPResponse.Status = .ok) throws -> Response {
        guard let html = library.render(model, withTemplate: name) else { throw WebError.missingTemplate(name) }
        return Response(
            status: status, headers: SecurityHeaders.html,
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// A fragment of a page (no layout), for tests and for pages that assemble parts.
    func render(_ name: String, _ model: some Sendable) throws -> String {
        guard let html = library.render(model, withTemplate: name) else { throw WebError.missingTemplate(name) }
        return html
    }
}

enum WebError: Error, CustomStringConvertible {
    case missingResources(String)
    case missingTemplate(String)

    var description: String {
        switch self {
        case .missingResources(let what):
            "the web UI's \(what) are missing from the build (PaddockWeb's resources); rebuild with `swift build`"
        case .missingTemplate(let name): "the web UI has no template named '\(name)'; this is a bug in Paddock"
        }
    }
}
