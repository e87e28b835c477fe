import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices

/// `/v1/repos`: the server's repository cache — list, fetch now (`POST /v1/repos/{repo}/refresh`) and remove
/// (`DELETE /v1/repos/{repo}`), a repository named by its id or URL. The service authorizes and records.
struct RepoController {
    let repos: RepositoryCacheService

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.get(use: list)
        group.post(":repo/refresh", use: refresh)
        group.delete(":repo", use: remove)
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> RepoListBody {
        RepoListBody(repos: try await repos.list(by: try context.caller()).map(RepoBody.init))
    }

    @Sendable func refresh(_ request: Request, context: PaddockRequestContext) async throws -> RepoBody {
        RepoBody(try await repos.refresh(try Self.name(context), by: try context.caller()))
    }

    @Sendable func remove(_ request: Request, context: PaddockRequestContext) async throws -> RepoRemovedBody {
        let removed = try await repos.remove(try Self.name(context), by: try context.caller())
        return RepoRemovedBody(url: removed.url, keptLayers: removed.kept)
    }

    static func name(_ context: PaddockRequestContext) throws -> String {
        try context.requiredParameter("repo", "repository id or URL")
    }
}
