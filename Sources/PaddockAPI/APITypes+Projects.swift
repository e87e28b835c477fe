import Foundation
import PaddockCore

/// `POST /v1/projects`: registers a project. Only `name` and `repository` are required.
public struct CreateProjectBody: Codable, Sendable, Equatable {
    public var name: String
    public var description: String?
    /// A git URL or an absolute path on the server's host.
    public var repository: String
    /// Default `main`.
    public var branch: String?
    /// Default `host`.
    public var template: String?
    /// A runtime.yml's text.
    public var policy: String?
    public var agent: String?
    public var model: String?
    public var instructions: String?
    /// Teams whose people may use the project; none: owners and admins only.
    public var teams: [String]?
    /// Vault secret names.
    public var secrets: [String]?

    public init(_ spec: ProjectSpec) {
        name = spec.name
        description = spec.description
        repository = spec.repository
        branch = spec.branch
        template = spec.template
        policy = spec.policy
        agent = spec.agent
        model = spec.model
        instructions = spec.instructions.isEmpty ? nil : spec.instructions
        teams = spec.teams
        secrets = spec.secrets
    }

    public var spec: ProjectSpec {
        ProjectSpec(
            name: name, description: description, repository: repository, branch: branch ?? ProjectSpec.defaultBranch,
            template: template ?? SessionSpec.defaultTemplate, policy: policy, agent: agent, model: model,
            instructions: instructions ?? "", teams: teams ?? [], secrets: secrets ?? [])
    }
}

/// `PATCH /v1/projects/{name}`: a field left out (or null) stays as it is; an empty string clears the description,
/// policy, agent, model and instructions (and puts the template back to `host`); an empty list clears teams or
/// secrets. With `revision`, the change applies only if the project is still at that revision (`conflict`
/// otherwise), so an edit made from a stale view is refused instead of undoing someone else's.
public struct UpdateProjectBody: Codable, Sendable, Equatable {
    public var description: String?
    public var repository: String?
    public var branch: String?
    public var template: String?
    public var policy: String?
    public var agent: String?
    public var model: String?
    public var instructions: String?
    public var teams: [String]?
    public var secrets: [String]?
    public var revision: Int?

    public init(_ update: ProjectUpdate, revision: Int? = nil) {
        description = update.description
        repository = update.repository
        branch = update.branch
        template = update.template
        policy = update.policy
        agent = update.agent
        model = update.model
        instructions = update.instructions
        teams = update.teams
        secrets = update.secrets
        self.revision = revision
    }

    public var update: ProjectUpdate {
        ProjectUpdate(
            description: description, repository: repository, branch: branch, template: template, policy: policy,
            agent: agent, model: model, instructions: instructions, teams: teams, secrets: secrets)
    }
}

/// A project as the API reports it: everything it holds (secret names only; the vault keeps the values).
public struct ProjectBody: Codable, Sendable, Equatable {
    public var name: String
    public var description: String?
    public var repository: String
    public var branch: String
    public var template: String
    public var policy: String?
    public var agent: String?
    public var model: String?
    public var instructions: String
    /// Empty: owners and admins only.
    public var teams: [String]
    public var secrets: [String]
    public var revision: Int
    public var createdBy: String
    public var createdAt: Date
    public var updatedBy: String
    public var updatedAt: Date

    public init(_ p: Project) {
        name = p.name
        description = p.description
        repository = p.repository
        branch = p.branch
        template = p.template
        policy = p.policy
        agent = p.agent
        model = p.model
        instructions = p.instructions
        teams = p.teams
        secrets = p.secrets
        revision = p.revision
        createdBy = p.createdBy
        createdAt = p.createdAt
        updatedBy = p.updatedBy
        updatedAt = p.updatedAt
    }
}

/// `GET /v1/projects`: the projects the caller may use (all of them for owners and admins).
public struct ProjectListBody: Codable, Sendable, Equatable {
    public var projects: [ProjectBody]

    public init(projects: [ProjectBody]) { self.projects = projects }
}

/// `POST /v1/projects/{name}/sessions`: starts a session of the project, and with `prompt` its first run.
public struct StartProjectBody: Codable, Sendable, Equatable {
    /// The team the session belongs to; needed only when the project is open to several of the caller's teams.
    public var team: String?
    /// The session's name.
    public var name: String?
    /// Given to the project's agent at once.
    public var prompt: String?
    /// Another agent or model than the project's, for this prompt.
    public var agent: String?
    public var model: String?

    public init(
        team: String? = nil, name: String? = nil, prompt: String? = nil, agent: String? = nil, model: String? = nil
    ) {
        self.team = team
        self.name = name
        self.prompt = prompt
        self.agent = agent
        self.model = model
    }
}

/// What `POST /v1/projects/{name}/sessions` started.
public struct ProjectStartedBody: Codable, Sendable {
    public var project: String
    public var session: SessionBody
    public var run: Run?

    public init(project: String, session: SessionBody, run: Run?) {
        self.project = project
        self.session = session
        self.run = run
    }
}
