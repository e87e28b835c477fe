import Foundation
import PaddockConfig
import PaddockCore
import PaddockStore

/// Projects: what an engineer registers once (repository, branch, template, runtime.yml, agent, model,
/// instructions, teams, secrets) so that anyone on those teams starts work by picking a name — never a URL or
/// a flag. Adding, changing and removing one is for owners and admins and is recorded in the organisation's
/// trail; everyone else sees only the projects open to one of their teams, and the others answer "not found".
///
/// A project's sessions are repository sessions: the repository's own CLAUDE.md and AGENTS.md are in the
/// checkout, and the project's instructions reach the agent through the same files — they travel as the
/// `instructions:` of the project's policy (the session layer), which Paddock appends to both files in
/// /workspace in a marked block that never becomes part of the change (see `sessionPolicy(for:)`).
public struct ProjectService: Sendable {
    let sessions: SessionService
    /// Where secret names are checked; nil: the sessions' egress gateway's vault, if it has one.
    let vault: SecretVault?
    /// Runs, for the agent names a project may default to and for `start(_:prompt:…)`.
    let runs: RunService?

    public init(sessions: SessionService, vault: SecretVault? = nil, runs: RunService? = nil) {
        self.sessions = sessions
        self.vault = vault
        self.runs = runs
    }

    var store: any ProjectStore {
        get throws {
            guard let store = sessions.store as? any ProjectStore else {
                throw PaddockError.unavailable("this server's store keeps no projects")
            }
            return store
        }
    }

    // MARK: Reading

    /// The projects the caller may use (every one for owners and admins), by name.
    public func list(for caller: Caller) async throws -> [Project] {
        try await store.projects().filter { $0.isVisible(to: caller) }
    }

    /// The project, if the caller may see it; one they may not see answers exactly like one that does not exist.
    public func get(_ name: String, for caller: Caller) async throws -> Project {
        guard let project = try await store.project(name), project.isVisible(to: caller) else {
            throw Self.missing(name)
        }
        return project
    }

    static func missing(_ name: String) -> PaddockError {
        do { try ProjectSpec.validate(name: name) } catch {
            // Not a name any project could have: not repeated back, since it may hold anything.
            return .notFound(
                "there is no project of that name (they are lowercase letters, digits and '-'); `paddock projects "
                    + "list` shows the projects you may use")
        }
        return .notFound("project '\(name)' does not exist; `paddock projects list` shows the projects you may use")
    }

    // MARK: Changing

    /// Registers a project after checking everything its sessions will need: the template is built, the policy
    /// reads (and layers under the org's and team's), the teams exist, every secret is in the vault for every
    /// team, and the agent is one this server runs.
    public func add(_ spec: ProjectSpec, by caller: Caller) async throws -> Project {
        try caller.authorizeOrg(.admin)
        let spec = spec.normalized()
        try spec.validate()
        try await check(spec, changed: nil)
        let project = Project(spec, by: caller.user, at: sessions.clock())
        try await store.insertProject(project)
        try await sessions.orgTrail.record(
            "project.add",
            [
                "project": .string(project.name), "repository": .string(project.repository),
                "branch": .string(project.branch), "template": .string(project.template),
                "teams": .strings(project.teams), "secrets": .strings(project.secrets),
                "agent": .optional(project.agent), "model": .optional(project.model),
                "policy": .bool(project.policy != nil),
                "instructions_bytes": .int(Int64(project.instructions.utf8.count)),
            ], by: caller)
        sessions.logger.info("project added", metadata: ["project.name": "\(project.name)"])
        return project
    }

    /// Changes a project; what the change touches is checked as on `add`. With `revision`, the change applies
    /// only to that revision (what the caller looked at); either way, of two changes made at once one is refused
    /// with `conflict` rather than lost. Sessions already started keep what they started with.
    public func update(_ name: String, _ update: ProjectUpdate, expecting revision: Int? = nil, by caller: Caller)
        async throws -> Project
    {
        try caller.authorizeOrg(.admin)
        let current = try await get(name, for: caller)
        if let revision, revision != current.revision {
            throw PaddockError.conflict(
                "project '\(name)' is at revision \(current.revision), not \(revision): someone changed it since you "
                    + "looked; look again with `paddock projects show \(name)` and reapply your change")
        }
        let spec = update.applied(to: current.spec)
        let changed = spec.changedFields(from: current.spec)
        guard !changed.isEmpty else { return current }
        try spec.validate()
        try await check(spec, changed: Set(changed))
        let next = current.replacing(spec, by: caller.user, at: sessions.clock())
        try await store.updateProject(next, expecting: current.revision)
        try await sessions.orgTrail.record(
            "project.update",
            ["project": .string(name), "changed": .strings(changed), "revision": .int(Int64(next.revision))],
            by: caller)
        sessions.logger.info(
            "project changed",
            metadata: ["project.name": "\(name)", "project.changed": "\(changed.joined(separator: ","))"])
        return next
    }

    /// Removes a project. Sessions started from it go on as they are; nobody can start new ones.
    @discardableResult
    public func remove(_ name: String, by caller: Caller) async throws -> Project {
        try caller.authorizeOrg(.admin)
        let project = try await get(name, for: caller)
        try await store.deleteProject(name)
        try await sessions.orgTrail.record("project.remove", ["project": .string(name)], by: caller)
        sessions.logger.info("project removed", metadata: ["project.name": "\(name)"])
        return project
    }

    // MARK: Checks against the server's state

    /// Checks what `spec` names exists and reads; with `changed`, only what those fields touch (a template removed
    /// since the project was added does not block a change of its description).
    func check(_ spec: ProjectSpec, changed: Set<String>?) async throws {
        func touches(_ fields: String...) -> Bool { changed.map { !$0.isDisjoint(with: fields) } ?? true }
        if touches("template") { try await checkTemplate(spec) }
        if touches("policy", "instructions") { try await checkPolicy(spec) }
        if touches("teams") { try await checkTeams(spec.teams) }
        if touches("secrets", "teams") { try await checkSecrets(spec) }
        if touches("agent"), let agent = spec.agent, let runs {
            guard runs.configuration.agents[agent] != nil else {
                throw PaddockError.invalidArgument(
                    "agent '\(agent)' is not configured on this server; use one of: "
                        + runs.configuration.agents.keys.sorted().joined(separator: ", ")
                        + " (or leave it out for the server's default)")
            }
        }
    }

    private func checkTemplate(_ spec: ProjectSpec) async throws {
        do { _ = try await TemplateService(sessions: sessions).get(spec.template) } catch let e as PaddockError
            where e.code == .notFound
        {
            throw PaddockError.invalidArgument(
                "template '\(spec.template)' does not exist; build it first with `paddock template build "
                    + "\(spec.template)`, or leave --template out for the built-in 'host'")
        }
    }

    /// The policy must read on its own (its errors point at its own lines), then with the instructions added,
    /// and then layer under the org's and team's policy exactly as a session of the project will.
    private func checkPolicy(_ spec: ProjectSpec) async throws {
        if let policy = spec.policy {
            let text = PolicyText(text: policy, file: Self.policyFile(spec.name))
            _ = try await sessions.guardrails.prepare(text)
            let config: RuntimeConfig
            do { config = try RuntimeConfig.parse(policy, file: text.file) } catch { throw error.paddockError }
            if config.instructions != nil, !spec.instructions.isEmpty {
                throw PaddockError.invalidArgument(
                    "the policy has instructions: of its own and the project has instructions too; keep them in one "
                        + "place — move the policy's into the project's instructions (--instructions FILE), or leave "
                        + "those out")
            }
        }
        guard let combined = try Self.sessionPolicy(spec.name, policy: spec.policy, instructions: spec.instructions)
        else { return }
        _ = try await sessions.guardrails.prepare(combined)
    }

    private func checkTeams(_ teams: [String]) async throws {
        guard !teams.isEmpty else { return }
        guard let access = sessions.store as? any AccessStore else {
            throw PaddockError.unavailable("this server keeps no teams; leave --team out")
        }
        for team in teams {
            guard try await access.team(team) == nil else { continue }
            throw PaddockError.notFound(
                "team '\(team)' does not exist; create it with `paddock teams create \(team)`, or leave it out "
                    + "(`paddock teams list` shows the teams)")
        }
    }

    /// Every secret must open for every team the project is open to (a team's own secret, else the org's), as it
    /// will when a session of that team starts; a project open to no team is started by admins, with the org's.
    private func checkSecrets(_ spec: ProjectSpec) async throws {
        guard !spec.secrets.isEmpty else { return }
        var vault = self.vault
        if vault == nil { vault = await sessions.network?.vault }
        guard let vault else {
            throw PaddockError.unavailable(
                "this server has no secrets vault, so a project cannot name secrets; leave --secret out")
        }
        let scopes: [String?] = spec.teams.isEmpty ? [nil] : spec.teams
        for name in spec.secrets {
            for team in scopes {
                guard try await vault.find(name: name, team: team) == nil else { continue }
                let set = team.map { "`paddock secrets set \(name) --team \($0) --hosts HOST`" }
                throw PaddockError.invalidArgument(
                    "secret \(name) is not in the vault"
                        + (team.map { " for team \($0) (nor for the whole org)" } ?? " (for the whole org)")
                        + "; store it with \(set ?? "`paddock secrets set \(name) --hosts HOST`"), or leave it out")
            }
        }
    }

    // MARK: The policy sessions run under

    static func policyFile(_ project: String) -> String { "runtime.yml of project \(project)" }

    /// The session-layer policy of the project's sessions: its runtime.yml with its instructions added as that
    /// file's `instructions:`, so they take the path every policy's instructions take — appended to CLAUDE.md and
    /// AGENTS.md in /workspace, after the repository's own text and the org's, team's and repository's
    /// instructions, and taken out of the change again. Nil when the project has neither.
    public static func sessionPolicy(for project: Project) throws(PaddockError) -> PolicyText? {
        try sessionPolicy(project.name, policy: project.policy, instructions: project.instructions)
    }

    static func sessionPolicy(_ name: String, policy: String?, instructions: String) throws(PaddockError)
        -> PolicyText?
    {
        let file = policyFile(name)
        guard !instructions.isEmpty else { return policy.map { PolicyText(text: $0, file: file) } }
        var text = policy ?? "version: 1\n"
        if !text.hasSuffix("\n") { text += "\n" }
        // A literal block with an explicit indentation: the text comes back exactly, whatever its first line.
        text += "# The project's instructions (paddock projects), added by Paddock:\ninstructions: |2\n"
        for line in instructions.split(separator: "\n", omittingEmptySubsequences: false) {
            text += line.isEmpty ? "\n" : "  \(line)\n"
        }
        // Appending to someone's YAML is only right if it reads back as exactly these instructions; a policy that
        // ends in a flow mapping or a document marker would not take it.
        let config: RuntimeConfig
        do { config = try RuntimeConfig.parse(text, file: file) } catch {
            throw .invalidArgument(
                "the project's instructions cannot be added to its policy (\(error.paddockError.message)); end the "
                    + "policy with a plain top-level key (block style, no '...' or '---' at the end)")
        }
        guard config.instructions?.trimmingCharacters(in: .whitespacesAndNewlines) == instructions else {
            throw .invalidArgument(
                "the project's instructions do not survive being written into its runtime.yml; remove unusual "
                    + "characters from them, or end the policy with a plain top-level key")
        }
        return PolicyText(text: text, file: file)
    }
}
