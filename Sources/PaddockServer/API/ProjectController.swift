import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices

/// `/v1/projects`: list, add, show, change (`PATCH`) and remove projects, and start a session of one
/// (`POST /v1/projects/{project}/sessions`, with an optional first prompt). The service decides who may do what
/// and records it; this only translates the wire format.
struct ProjectController {
    let projects: ProjectService

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.get(use: list)
        group.post(use: add)
        group.get(":project", use: get)
        group.patch(":project", use: update)
        group.delete(":project", use: remove)
        group.post(":project/sessions", use: start)
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> ProjectListBody {
        ProjectListBody(projects: try await projects.list(for: try context.caller()).map(ProjectBody.init))
    }

    @Sendable func add(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<ProjectBody> {
        let body = try await request.decode(as: CreateProjectBody.self, context: context)
        let project = try await projects.add(body.spec, by: try context.caller())
        return EditedResponse(status: .created, response: ProjectBody(project))
    }

    @Sendable func get(_ request: Request, context: PaddockRequestContext) async throws -> ProjectBody {
        ProjectBody(try await projects.get(try Self.name(context), for: try context.caller()))
    }

    @Sendable func update(_ request: Request, context: PaddockRequestContext) async throws -> ProjectBody {
        let body = try await request.decode(as: UpdateProjectBody.self, context: context)
        return ProjectBody(
            try await projects.update(
                try Self.name(context), body.update, expecting: body.revision, by: try context.caller()))
    }

    @Sendable func remove(_ request: Request, context: PaddockRequestContext) async throws -> ProjectBody {
        ProjectBody(try await projects.remove(try Self.name(context), by: try context.caller()))
    }

    @Sendable func start(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        ProjectStartedBody
    > {
        let body = try await request.decode(as: StartProjectBody.self, context: context)
        let name = try Self.name(context)
        let caller = try context.caller()
        let started: ProjectStartedBody
        if let prompt = body.prompt {
            let start = try await projects.start(
                name, prompt: prompt, team: body.team, agent: body.agent, model: body.model, sessionName: body.name,
                by: caller)
            started = ProjectStartedBody(project: name, session: SessionBody(start.session), run: start.run)
        } else {
            guard body.agent == nil, body.model == nil else {
                throw PaddockError.invalidArgument("agent and model go with a prompt; add one, or leave them out")
            }
            let session = try await projects.startSession(name, team: body.team, sessionName: body.name, by: caller)
            started = ProjectStartedBody(project: name, session: SessionBody(session), run: nil)
        }
        return EditedResponse(status: .created, response: started)
    }

    static func name(_ context: PaddockRequestContext) throws -> String {
        try context.requiredParameter("project", "project name")
    }
}
