import Foundation
import Hummingbird
import PaddockConfig
import PaddockCore
import PaddockServices

/// The front door: "What should change?" — a prompt, the project (which engineering set up once), and,
/// for those who care, the agent and model. It says in plain words what the session will be allowed to do
/// before anything starts.
extension WebRoutes {
    struct ProjectChoice: Sendable {
        var name: String
        var description: String
        var branch: String
        var selected: Bool
    }

    struct StartPage: Sendable {
        var chrome: Chrome
        var projects: [ProjectChoice]
        var agents: [String]
        var allowed: [String]
        var budget: String?
        var hasProjects: Bool
    }

    func start(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let projects = try await ProjectService(sessions: sessions, runs: runs).list(for: person.caller)
        let chosen = request.uri.queryParameters.get("project").map { String($0) } ?? projects.first?.name
        var allowed: [String] = []
        if let project = projects.first(where: { $0.name == chosen }) {
            allowed = try await Self.allowances(project, guardrails: sessions.guardrails)
        }
        var budget: String?
        if let runs, let team = person.principal.teams.keys.sorted().first {
            let status = try await runs.budgetStatus(team: team)
            if let limit = status.monthlyBudgetUSD {
                budget = String(
                    format: "$%.2f of the team's $%.2f left this month", max(0, limit - status.spentThisMonthUSD), limit
                )
            }
        }
        let page = StartPage(
            chrome: try await chrome(person, tab: "start"),
            projects: projects.map {
                ProjectChoice(
                    name: $0.name, description: $0.description ?? $0.repository, branch: $0.branch,
                    selected: $0.name == chosen)
            },
            agents: runs?.configuration.agents.keys.sorted() ?? [], allowed: allowed, budget: budget,
            hasProjects: !projects.isEmpty)
        return try pages.page("start", page)
    }

    func startChange(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let form = try await FormFields.read(request)
        let prompt = try form.required("prompt", "What should change")
        let project = try form.required("project", "The project")
        let agent = form["agent"].flatMap { $0.isEmpty ? nil : $0 }
        let started = try await ProjectService(sessions: sessions, runs: runs).start(
            project, prompt: prompt, agent: agent, by: person.caller)
        return .redirect(to: "/sessions/\(started.session.id)", type: .found)
    }

    /// What a session of the project may do, as a person would say it: the hosts it may reach and the
    /// commands it may not run, from the project's runtime.yml over the org's and team's rules.
    static func allowances(_ project: Project, guardrails: GuardrailService) async throws -> [String] {
        let policy = try await guardrails.effectivePolicy(
            project.policy.map { PolicyText(text: $0, file: "\(project.name)/runtime.yml") })
        var lines = [
            "Works on its own copy of \(project.repository) (\(project.branch)); nothing reaches the repository "
                + "until a reviewer merges it."
        ]
        let network = policy?.network.flatMap(\.rules) ?? []
        let hosts = network.filter { $0.action == .allow }.map(\.pattern)
        lines.append(
            hosts.isEmpty
                ? "Cannot reach the internet." : "Can reach \(hosts.joined(separator: ", ")); nothing else.")
        let commands = policy?.commands.flatMap(\.rules) ?? []
        let denied = commands.filter { $0.action == .deny }.map(\.pattern)
        let asked = commands.filter { $0.action == .ask }.map(\.pattern)
        if !denied.isEmpty { lines.append("May not run \(denied.joined(separator: ", ")).") }
        if !asked.isEmpty { lines.append("Asks a person before running \(asked.joined(separator: ", ")).") }
        return lines
    }
}
