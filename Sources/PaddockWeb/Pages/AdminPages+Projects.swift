import Foundation
import Hummingbird
import PaddockCore
import PaddockServices

/// A team's projects: what engineers define once here so that everyone else only picks a name on the Start
/// page. A change carries the revision the form was drawn from, so two admins editing at once cannot overwrite
/// each other unknowingly (the service refuses the second).
extension WebRoutes {
    struct ProjectRow: Sendable {
        var name: String
        var description: String
        var repository: String
        var branch: String
        var teams: String
    }

    /// The fields of the add and edit forms, filled from a project or left for a new one.
    struct ProjectForm: Sendable {
        var name: String
        var description: String
        var repository: String
        var branch: String
        var template: String
        var agent: String
        var model: String
        var instructions: String
        var policy: String
        var teams: String
        var secrets: String
        var revision: Int
        var agents: [RoleChoice]
    }

    struct ProjectsPage: Sendable {
        var chrome: Chrome
        var admin: AdminFrame
        var projects: [ProjectRow]
        var form: ProjectForm
        var done: String?
    }

    struct ProjectPage: Sendable {
        var chrome: Chrome
        var admin: AdminFrame
        var project: ProjectRow
        var template: String
        var agent: String
        var model: String
        var instructions: String
        var hasInstructions: Bool
        var policy: String?
        var secrets: [String]
        var updated: String
        var form: ProjectForm
        var done: String?
    }

    var projectService: ProjectService { ProjectService(sessions: sessions, vault: vault, runs: runs) }

    func projectsPage(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "projects")
        let projects = try await projectService.list(for: person.caller).filter { $0.teams.contains(frame.team) }
        let page = ProjectsPage(
            chrome: try await chrome(person, tab: "admin"), admin: frame, projects: projects.map(Self.row),
            form: projectForm(nil, team: frame.team), done: Self.done(request))
        return try pages.page("admin-projects", page)
    }

    static func row(_ project: Project) -> ProjectRow {
        ProjectRow(
            name: project.name, description: project.description ?? "", repository: project.repository,
            branch: project.branch, teams: project.teams.joined(separator: ", "))
    }

    func projectForm(_ project: Project?, team: String) -> ProjectForm {
        let spec = project?.spec
        let agents = runs?.configuration.agents.keys.sorted() ?? []
        return ProjectForm(
            name: spec?.name ?? "", description: spec?.description ?? "", repository: spec?.repository ?? "",
            branch: spec?.branch ?? ProjectSpec.defaultBranch, template: spec?.template ?? SessionSpec.defaultTemplate,
            agent: spec?.agent ?? "", model: spec?.model ?? "", instructions: spec?.instructions ?? "",
            policy: spec?.policy ?? "", teams: spec?.teams.joined(separator: ", ") ?? team,
            secrets: spec?.secrets.joined(separator: ", ") ?? "", revision: project?.revision ?? 0,
            agents: agents.map { RoleChoice(value: $0, selected: $0 == spec?.agent) })
    }

    /// The project of the path, if it is open to the team of the path: another team's answers "not found".
    func teamProject(_ person: SignedIn, _ context: Context, team: String) async throws -> Project {
        guard let name = context.parameters.get("project") else { throw HTTPError(.notFound) }
        let project = try await projectService.get(name, for: person.caller)
        guard project.teams.contains(team) else {
            throw HTTPError(.notFound, message: "Team \(team) has no project of that name.")
        }
        return project
    }

    func projectPage(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "projects")
        let project = try await teamProject(person, context, team: frame.team)
        let page = ProjectPage(
            chrome: try await chrome(person, tab: "admin"), admin: frame, project: Self.row(project),
            template: project.template, agent: project.agent ?? "the server's default",
            model: project.model ?? "the agent's default", instructions: project.instructions,
            hasInstructions: !project.instructions.isEmpty, policy: project.policy, secrets: project.secrets,
            updated: "revision \(project.revision), changed by \(project.updatedBy) on "
                + Self.day.string(from: project.updatedAt),
            form: projectForm(project, team: frame.team), done: Self.done(request))
        return try pages.page("admin-project", page)
    }

    static func spec(_ form: FormFields) throws -> ProjectSpec {
        ProjectSpec(
            name: try form.required("name", "The project's name"), description: form["description"],
            repository: try form.required("repository", "The repository"), branch: form["branch"] ?? "",
            template: form["template"] ?? "", policy: form["policy"], agent: form["agent"], model: form["model"],
            instructions: form["instructions"] ?? "", teams: list(form["teams"]), secrets: list(form["secrets"]))
    }

    /// `a, b c` → `[a, b, c]`: teams and secret names are written in one box, separated by commas or spaces.
    static func list(_ text: String?) -> [String] {
        (text ?? "").split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
    }

    func addProject(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "projects")
        var spec = try Self.spec(try await FormFields.read(request))
        if spec.teams.isEmpty { spec.teams = [frame.team] }
        let project = try await projectService.add(spec, by: person.caller)
        guard project.teams.contains(frame.team) else {
            return Self.redirect(frame.team, "projects", done: "project-added")
        }
        return Self.redirect(frame.team, "projects/\(Self.pathPart(project.name))", done: "project-added")
    }

    func updateProject(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "projects")
        let project = try await teamProject(person, context, team: frame.team)
        let form = try await FormFields.read(request)
        guard let revision = form["revision"].flatMap(Int.init) else {
            throw HTTPError(.badRequest, message: "The form lost its revision; reload the project and edit again.")
        }
        let spec = try Self.spec(form)
        guard spec.name == project.name else {
            throw HTTPError(
                .badRequest, message: "A project keeps its name; add a new project under the other name instead.")
        }
        let update = ProjectUpdate(
            description: spec.description ?? "", repository: spec.repository, branch: spec.branch,
            template: spec.template, policy: spec.policy ?? "", agent: spec.agent ?? "", model: spec.model ?? "",
            instructions: spec.instructions, teams: spec.teams, secrets: spec.secrets)
        let saved = try await projectService.update(project.name, update, expecting: revision, by: person.caller)
        guard saved.teams.contains(frame.team) else {
            return Self.redirect(frame.team, "projects", done: "project-saved")
        }
        return Self.redirect(frame.team, "projects/\(Self.pathPart(saved.name))", done: "project-saved")
    }

    func removeProject(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "projects")
        let project = try await teamProject(person, context, team: frame.team)
        let form = try await FormFields.read(request)
        guard form["confirm"] == "yes" else {
            throw HTTPError(.badRequest, message: "Tick the box to confirm that the project should go.")
        }
        try await projectService.remove(project.name, by: person.caller)
        return Self.redirect(frame.team, "projects", done: "project-removed")
    }
}
