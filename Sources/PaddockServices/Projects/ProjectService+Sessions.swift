import Foundation
import PaddockCore
import PaddockStore

/// Everything starting work from a project takes, resolved for one caller: what the web UI, triggers and the
/// REST door hand to `SessionService.create` and `RunService.start` (or let `ProjectService` do it).
public struct ProjectLaunch: Sendable, Equatable {
    public var project: Project
    /// The session: the project's template, repository and branch, and secrets; `project` names the project.
    public var spec: SessionSpec
    /// The session layer: the project's runtime.yml with its instructions (nil when it has neither).
    public var policy: PolicyText?
    /// The team the session belongs to, and who starts it.
    public var owner: SessionOwner
    /// What runs in the session default to; nil: the server's default agent, the agent's default model.
    /// `RunService.start` applies them itself to every prompt in a project's session.
    public var agent: String?
    public var model: String?
}

/// A session started from a project, and the run of the first prompt.
public struct ProjectStart: Sendable {
    public var session: Session
    public var run: Run
}

extension ProjectService {
    /// What starting the project takes for this caller. The session belongs to `team` — one the project is open
    /// to and the caller may write to — or, when none is named, to the only such team of the caller's. A caller
    /// who may see the project but not write to any of its teams (a viewer, a read-only team) is refused.
    /// `branch` replaces the project's branch (a trigger working on a pull request's head branch).
    public func launch(_ name: String, team: String? = nil, branch: String? = nil, by caller: Caller) async throws
        -> ProjectLaunch
    {
        let project = try await get(name, for: caller)
        let team = try await sessionTeam(project, requested: team, caller: caller)
        var spec = SessionSpec(template: project.template)
        spec.repository = SessionRepository(url: project.repository, branch: branch ?? project.branch)
        spec.secrets = project.secrets.isEmpty ? nil : project.secrets
        spec.project = project.name
        return ProjectLaunch(
            project: project, spec: spec, policy: try Self.sessionPolicy(for: project),
            owner: SessionOwner(team: team, user: caller.user), agent: project.agent, model: project.model)
    }

    /// Starts a session of the project: its repository's branch in /workspace, under its template and policy,
    /// with its secrets and instructions. Needs a server that keeps repository clones.
    /// `pullRequest`: the open pull request whose head `branch` is, so its submit lands there (see
    /// `SessionRepository.pullRequest`).
    public func startSession(
        _ name: String, team: String? = nil, branch: String? = nil, pullRequest: String? = nil,
        sessionName: String? = nil, by caller: Caller
    ) async throws -> Session {
        var launch = try await launch(name, team: team, branch: branch, by: caller)
        launch.spec.name = sessionName
        if let pullRequest {
            guard branch != nil else {
                throw PaddockError.invalidArgument("a pull request's session needs its head branch; pass the branch")
            }
            launch.spec.repository?.pullRequest = pullRequest
        }
        return try await sessions.create(launch.spec, policy: launch.policy, owner: launch.owner, by: caller)
    }

    /// Starts a session of the project and gives `prompt` to its agent (the project's, unless `agent` names
    /// another). A run that cannot start takes its new session with it, so a refused prompt leaves nothing
    /// running.
    public func start(
        _ name: String, prompt: String, team: String? = nil, agent: String? = nil, model: String? = nil,
        branch: String? = nil, pullRequest: String? = nil, sessionName: String? = nil, by caller: Caller
    ) async throws -> ProjectStart {
        guard let runs else {
            throw PaddockError.unavailable(
                "this server runs no agents; start a session of the project without a prompt")
        }
        // An agent this server does not run is refused before a repository is cloned for nothing.
        if let agent { _ = try runs.agentDefinition(agent) }
        let session = try await startSession(
            name, team: team, branch: branch, pullRequest: pullRequest, sessionName: sessionName, by: caller)
        do {
            // The project's agent and model apply through the session's project (`RunService.start`).
            let run = try await runs.start(session: session.id, prompt: prompt, agent: agent, model: model, by: caller)
            return ProjectStart(session: session, run: run)
        } catch {
            do {
                _ = try await sessions.destroy(session.id, reason: "its first prompt could not start", by: caller)
            } catch let cleanup {
                sessions.logger.warning(
                    "could not remove a project session whose first prompt did not start",
                    metadata: ["session.id": "\(session.id)", "project.name": "\(name)", "error": "\(cleanup)"])
            }
            throw error
        }
    }

    /// The team a session of `project` belongs to (nil: none, for owners and admins on a project open to no
    /// team), checked like a session create: the caller must be able to write to it.
    func sessionTeam(_ project: Project, requested: String?, caller: Caller) async throws -> String? {
        let admin = caller.principal?.role.spansAllTeams ?? true
        if let requested, !project.teams.isEmpty, !project.teams.contains(requested) {
            throw PaddockError.invalidArgument(
                "project '\(project.name)' is not open to team '\(requested)'; start it for one of: "
                    + project.teams.joined(separator: ", ")
                    + (admin ? ", or open it to that team with `paddock projects update \(project.name) --team …`" : "")
            )
        }
        // Paddock itself (a trigger) names the team; it need not be able to write to it.
        guard let principal = caller.principal else {
            return requested ?? (project.teams.count == 1 ? project.teams.first : nil)
        }
        if let requested {
            if project.teams.isEmpty {
                guard admin else { throw Self.missing(project.name) }
                guard let access = sessions.store as? any AccessStore, try await access.team(requested) != nil else {
                    throw PaddockError.notFound(
                        "team '\(requested)' does not exist; `paddock teams list` shows the teams")
                }
            }
            guard principal.permissions(onTeam: requested).contains(.write) else {
                throw principal.denial(needs: .write, team: requested)
            }
            return requested
        }
        let writable = project.teams.filter { principal.permissions(onTeam: $0).contains(.write) }
        if writable.count == 1 { return writable[0] }
        if writable.count > 1 {
            throw PaddockError.invalidArgument(
                "project '\(project.name)' is open to several of your teams (\(writable.joined(separator: ", "))); "
                    + "say which one the session belongs to with --team")
        }
        if project.teams.isEmpty, principal.role.spansAllTeams, principal.scopes.contains(.write) { return nil }
        throw principal.denial(needs: .write, team: project.teams.first { principal.canSee(team: $0) })
    }
}
