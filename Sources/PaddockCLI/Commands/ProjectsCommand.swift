import ArgumentParser
import Foundation
import PaddockAPI
import PaddockConfig
import PaddockCore

struct ProjectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projects", abstract: "Register repositories people start work on by name.",
        discussion: """
            A project holds what a session needs besides a prompt: the repository and its default branch, the \
            template and runtime.yml its sessions run under, the agent and model its runs use, instructions every \
            run gets (added to the repository's own CLAUDE.md and AGENTS.md), the teams that may use it and the \
            vault secrets its sessions get. Owners and admins add, change and remove projects; everyone else sees \
            the projects open to their teams and starts them with `paddock projects start NAME`. A project open \
            to no team is for owners and admins only.
            """,
        subcommands: [Add.self, List.self, Show.self, Update.self, Remove.self, Start.self])

    /// The flags `add` and `update` share.
    struct Fields: ParsableArguments {
        @Option(name: .customLong("repo"), help: "Git URL, or an absolute path on the server's host.")
        var repository: String?
        @Option(help: "The branch sessions check out and approved changes merge into (default main).")
        var branch: String?
        @Option(help: "The template sessions start from (default host).") var template: String?
        @Option(help: "A runtime.yml its sessions run under (their session layer).") var policy: String?
        @Option(help: "The agent runs use unless a prompt names another (default: the server's).") var agent: String?
        @Option(help: "The model runs use unless a prompt names another.") var model: String?
        @Option(help: "A file of instructions every run gets, besides the repository's CLAUDE.md/AGENTS.md.")
        var instructions: String?
        @Option(help: "One paragraph saying what the project is, for the people who pick it.") var description: String?

        /// The policy file's text, checked here first so its errors name the local file.
        func policyText() throws -> String? {
            guard let policy else { return nil }
            _ = try RuntimeConfig.load(path: policy)
            return try Self.read(policy, what: "policy")
        }

        func instructionsText() throws -> String? {
            try instructions.map { try Self.read($0, what: "instructions") }
        }

        static func read(_ path: String, what: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read the \(what) file \(path); check the path")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw ValidationError("the \(what) file \(path) is not UTF-8 text; save it as UTF-8")
            }
            return text
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a project (owners and admins).",
            discussion: """
                Example: paddock projects add web-app --repo git@github.com:acme/web.git --team frontend \
                --policy runtime.yml --instructions team-notes.md --secret ANTHROPIC_API_KEY
                """)
        @Argument(help: "Project name: lowercase letters, digits and '-', like web-app.") var name: String
        @OptionGroup var fields: Fields
        @Option(help: "A team whose people may use it (repeatable; none: owners and admins only).")
        var team: [String] = []
        @Option(help: "A vault secret its sessions get as a placeholder (repeatable).") var secret: [String] = []
        @OptionGroup var output: OutputOptions

        func run() async throws {
            guard let repository = fields.repository else {
                throw ValidationError("--repo is required: the git URL (or server-side path) the project works on")
            }
            let spec = ProjectSpec(
                name: name, description: fields.description, repository: repository,
                branch: fields.branch ?? ProjectSpec.defaultBranch,
                template: fields.template ?? SessionSpec.defaultTemplate, policy: try fields.policyText(),
                agent: fields.agent, model: fields.model, instructions: try fields.instructionsText() ?? "",
                teams: team, secrets: secret
            ).normalized()
            try spec.validate()
            let project = try await APIClient.fromEnvironment().call(
                .POST, "/v1/projects", json: CreateProjectBody(spec), as: ProjectBody.self)
            if output.json { return try printJSON(project) }
            print("added project \(project.name): \(project.repository) (\(project.branch)), \(audience(project))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the projects you may use.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(.GET, "/v1/projects", as: ProjectListBody.self)
            if output.json { return try printJSON(list) }
            guard !list.projects.isEmpty else {
                print("no projects; an admin adds one with `paddock projects add NAME --repo URL`")
                return
            }
            print("NAME                  TEAMS             TEMPLATE      AGENT         DESCRIPTION")
            for p in list.projects {
                print(
                    [
                        p.name.padding(20), (p.teams.isEmpty ? "(admins)" : p.teams.joined(separator: ",")).padding(16),
                        p.template.padding(12), (p.agent ?? "-").padding(12),
                        p.description.map { String($0.split(separator: "\n").first ?? "") } ?? "",
                    ].joined(separator: "  "))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a project, its instructions and policy.")
        @Argument(help: "Project name.") var name: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let p = try await APIClient.fromEnvironment().call(.GET, try path(name), as: ProjectBody.self)
            if output.json { return try printJSON(p) }
            print("name:         \(p.name)")
            if let description = p.description { print("description:  \(description)") }
            print("repository:   \(p.repository)")
            print("branch:       \(p.branch)")
            print("template:     \(p.template)")
            print("agent:        \(p.agent ?? "the server's default")\(p.model.map { " (model \($0))" } ?? "")")
            print("teams:        \(audience(p))")
            print("secrets:      \(p.secrets.isEmpty ? "none" : p.secrets.joined(separator: ", "))")
            print("revision:     \(p.revision), changed by \(p.updatedBy) at \(format(p.updatedAt))")
            print("created:      by \(p.createdBy) at \(format(p.createdAt))")
            print("instructions: \(p.instructions.isEmpty ? "none besides the repository's own" : "")")
            if !p.instructions.isEmpty { print(indented(p.instructions)) }
            print("policy:       \(p.policy == nil ? "none besides the org's, team's and repository's" : "")")
            if let policy = p.policy { print(indented(policy)) }
        }

        func indented(_ text: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a project (owners and admins); what is not given stays.",
            discussion: """
                --team and --secret add to the project's lists, --remove-team and --remove-secret take out of them, \
                and --clear empties a field: description, policy, agent, model, instructions, teams or secrets \
                (template goes back to host). Sessions already started keep what they started with.
                """)
        @Argument(help: "Project name.") var name: String
        @OptionGroup var fields: Fields
        @Option(help: "Open the project to this team too (repeatable).") var team: [String] = []
        @Option(help: "Close the project to this team (repeatable).") var removeTeam: [String] = []
        @Option(help: "Give its sessions this vault secret too (repeatable).") var secret: [String] = []
        @Option(help: "Stop giving its sessions this secret (repeatable).") var removeSecret: [String] = []
        @Option(help: "Empty a field (repeatable): \(Self.clearable.joined(separator: ", ")).") var clear: [String] = []
        @OptionGroup var output: OutputOptions

        static let clearable = [
            "description", "template", "policy", "agent", "model", "instructions", "teams", "secrets",
        ]

        func run() async throws {
            for field in clear where !Self.clearable.contains(field) {
                throw ValidationError(
                    "--clear \(field) is not a field that can be emptied; use one of: "
                        + Self.clearable.joined(separator: ", "))
            }
            let client = try APIClient.fromEnvironment()
            let current = try await client.call(.GET, try path(name), as: ProjectBody.self)
            var update = ProjectUpdate(
                description: fields.description, repository: fields.repository, branch: fields.branch,
                template: fields.template, policy: try fields.policyText(), agent: fields.agent, model: fields.model,
                instructions: try fields.instructionsText())
            if !team.isEmpty || !removeTeam.isEmpty {
                update.teams = (current.teams + team).filter { !removeTeam.contains($0) }
            }
            if !secret.isEmpty || !removeSecret.isEmpty {
                update.secrets = (current.secrets + secret).filter { !removeSecret.contains($0) }
            }
            for field in clear {
                switch field {
                case "description": update.description = ""
                case "template": update.template = ""
                case "policy": update.policy = ""
                case "agent": update.agent = ""
                case "model": update.model = ""
                case "instructions": update.instructions = ""
                case "teams": update.teams = []
                default: update.secrets = []
                }
            }
            guard update != ProjectUpdate() else {
                throw ValidationError("nothing to change; give a field such as --agent, --team or --clear")
            }
            // Against the revision just read: a change someone else made meanwhile is refused, not undone.
            let project = try await client.call(
                .PATCH, try path(name), json: UpdateProjectBody(update, revision: current.revision),
                as: ProjectBody.self)
            if output.json { return try printJSON(project) }
            print(
                project.revision == current.revision
                    ? "project \(project.name) already says that; nothing changed"
                    : "updated project \(project.name) (revision \(project.revision))")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove projects (owners and admins); their running sessions go on.")
        @Argument(help: "Project names.") var names: [String]

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for name in names {
                let p = try await client.call(.DELETE, try path(name), as: ProjectBody.self)
                print("removed project \(p.name)")
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a session of a project, and with --prompt its agent on a task.",
            discussion: "With --prompt the run is followed like `paddock prompt`'s (unless --detach).")
        @Argument(help: "Project name.") var name: String
        @Option(help: "The team the session belongs to, when the project is open to several of yours.")
        var team: String?
        @Option(name: .customLong("name"), help: "A name for the session.") var sessionName: String?
        @Option(help: "What the agent should do.") var prompt: String?
        @Option(help: "Another agent than the project's, for this prompt.") var agent: String?
        @Option(help: "Another model than the project's, for this prompt.") var model: String?
        @Flag(help: "Start the run and return without following it.") var detach = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            if prompt == nil, agent != nil || model != nil {
                throw ValidationError("--agent and --model go with --prompt")
            }
            let client = try APIClient.fromEnvironment()
            let started = try await client.call(
                .POST, try path(name) + "/sessions",
                json: StartProjectBody(team: team, name: sessionName, prompt: prompt, agent: agent, model: model),
                as: ProjectStartedBody.self)
            guard let run = started.run, !detach else {
                if output.json { return try printJSON(started) }
                try printSession(started.session, json: false)
                if let run = started.run {
                    print("run:       \(run.id) (\(run.agent)); `paddock runs attach \(run.id)`")
                }
                return
            }
            if !output.json {
                FileHandle.standardError.write(
                    Data(
                        "session \(started.session.id) of \(started.project); run \(run.id) started (\(run.agent))\n"
                            .utf8))
            }
            try await RunFollower(client: client, runID: run.id, json: output.json).follow()
        }
    }
}

/// The API path of a project, refused here when the name could not be one (it goes into the URL as is).
private func path(_ name: String) throws -> String {
    try ProjectSpec.validate(name: name)
    return "/v1/projects/\(name)"
}

/// Who may use the project, as a person reads it.
private func audience(_ p: ProjectBody) -> String {
    p.teams.isEmpty ? "open to no team (owners and admins only)" : "open to \(p.teams.joined(separator: ", "))"
}
