import PaddockCore
import PaddockStore

extension RunService {
    /// The agent of that name, or an error that lists the ones this server runs.
    nonisolated func agentDefinition(_ name: String) throws -> AgentDefinition {
        guard let definition = configuration.agents[name] else {
            throw PaddockError.invalidArgument(
                "agent '\(name)' is not configured on this server; use one of: "
                    + configuration.agents.keys.sorted().joined(separator: ", "))
        }
        return definition
    }

    /// The project a session was started from, for the agent and model its runs default to. A project removed
    /// since leaves its sessions on the server's defaults.
    func projectDefaults(_ session: Session) async throws -> Project? {
        guard let name = session.spec.project, let projects = sessions.store as? any ProjectStore else { return nil }
        guard let project = try await projects.project(name) else {
            logger.info(
                "the project of a session is gone; its run uses the server's default agent",
                metadata: ["session.id": "\(session.id)", "project.name": "\(name)"])
            return nil
        }
        return project
    }
}
