import Foundation
import Hummingbird
import PaddockConfig
import PaddockCore
import PaddockServices

/// A team's secrets (names and hosts; a value goes in and never comes back out), its monthly budget with this
/// month's spending, and the policy its sessions run under with a box that explains one command or host.
extension WebRoutes {
    struct SecretRow: Sendable {
        var name: String
        var hosts: String
        var flags: String
        var updated: String
    }

    struct SecretsPage: Sendable {
        var chrome: Chrome
        var admin: AdminFrame
        var available: Bool
        var secrets: [SecretRow]
        var done: String?
    }

    var secretService: SecretService? { vault.map { SecretService(vault: $0, trail: sessions.orgTrail) } }

    func secretsPage(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "secrets")
        let rows = try await secretService?.list(team: frame.team, by: person.caller).map { info in
            var flags: [String] = []
            if info.allowHTTP { flags.append("plain HTTP too") }
            if info.inBody { flags.append("swapped in request bodies") }
            return SecretRow(
                name: info.name, hosts: info.hosts.joined(separator: ", "), flags: flags.joined(separator: "; "),
                updated: Self.day.string(from: info.updatedAt))
        }
        let page = SecretsPage(
            chrome: try await chrome(person, tab: "admin"), admin: frame, available: vault != nil, secrets: rows ?? [],
            done: Self.done(request))
        return try pages.page("admin-secrets", page)
    }

    func setSecret(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "secrets")
        guard let secretService else { throw Self.noVault }
        let form = try await FormFields.read(request)
        // Not trimmed: a value is stored exactly as typed (the vault refuses newlines).
        guard let value = form["value"], !value.isEmpty else {
            throw HTTPError(.badRequest, message: "The value is empty; type or paste it and send the form again.")
        }
        _ = try await secretService.set(
            name: try form.required("name", "The secret's name"), team: frame.team, value: value,
            hosts: Self.list(form["hosts"]), allowHTTP: form["allow_http"] == "yes", inBody: form["in_body"] == "yes",
            by: person.caller)
        return Self.redirect(frame.team, "secrets", done: "secret-set")
    }

    func removeSecret(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "secrets")
        guard let secretService else { throw Self.noVault }
        guard let name = context.parameters.get("secret") else { throw HTTPError(.notFound) }
        try await secretService.remove(name: name, team: frame.team, by: person.caller)
        return Self.redirect(frame.team, "secrets", done: "secret-removed")
    }

    static var noVault: HTTPError { HTTPError(.notFound, message: "This server has no secrets vault.") }

    // MARK: Budget

    struct BudgetPage: Sendable {
        var chrome: Chrome
        var admin: AdminFrame
        var available: Bool
        var budget: String
        var source: String
        var spent: String
        var left: String?
        var hasLimit: Bool
        var meterValue: String
        var meterMax: String
        /// What the input shows: the team's own budget, else empty.
        var current: String
        var isOwn: Bool
        var done: String?
    }

    func budgetPage(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, people) = try await adminFrame(person, context, section: "budget")
        var page = BudgetPage(
            chrome: try await chrome(person, tab: "admin"), admin: frame, available: runs != nil, budget: "",
            source: "", spent: "", left: nil, hasLimit: false, meterValue: "0", meterMax: "1", current: "",
            isOwn: false, done: Self.done(request))
        if let runs {
            let status = try await runs.budgetStatus(team: frame.team)
            page.spent = Self.dollars(status.spentThisMonthUSD)
            if let limit = status.monthlyBudgetUSD {
                page.hasLimit = true
                page.budget = Self.dollars(limit)
                page.left = Self.dollars(max(0, limit - status.spentThisMonthUSD))
                page.meterMax = String(format: "%.2f", max(limit, 0.01))
                page.meterValue = String(format: "%.2f", min(status.spentThisMonthUSD, max(limit, 0.01)))
            } else {
                page.budget = "no limit"
            }
            page.source =
                switch status.source {
                case .team: "the team's own budget"
                case .server: "the server's default (paddock server --team-budget / --default-team-budget)"
                case .none: "no budget is set anywhere"
                }
            page.isOwn = status.source == .team
            page.current = people.team.monthlyBudgetUSD.map { String(format: "%.2f", $0) } ?? ""
        }
        return try pages.page("admin-budget", page)
    }

    func setBudget(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "budget")
        guard let runs else {
            throw HTTPError(.notFound, message: "This server runs no agents, so it keeps no budgets.")
        }
        let form = try await FormFields.read(request)
        var dollars: Double?
        if form["action"] != "clear" {
            let text = try form.required("monthly", "The monthly budget").replacingOccurrences(of: "$", with: "")
            guard let value = Double(text) else {
                throw HTTPError(.badRequest, message: "The monthly budget is a number of dollars, such as 50 or 12.50.")
            }
            dollars = value
        }
        _ = try await runs.setBudget(team: frame.team, monthlyUSD: dollars, by: person.caller)
        return Self.redirect(frame.team, "budget", done: "budget")
    }

    static func dollars(_ amount: Double) -> String { String(format: "$%.2f", amount) }

    // MARK: Effective policy

    struct Answer: Sendable {
        var sentence: String
        var action: String
        var isAllow: Bool
        var isAsk: Bool
        var isDeny: Bool
    }

    struct PolicyPage: Sendable {
        var chrome: Chrome
        var admin: AdminFrame
        var projects: [TeamChoice]
        var hasProjects: Bool
        var project: String
        var scope: String
        var lines: [String]
        var notes: [String]
        var hasLines: Bool
        var command: String
        var host: String
        var answer: Answer?
        var problem: String?
    }

    func policyPage(_ request: Request, _ context: Context) async throws -> Response {
        let person = try context.person()
        let (frame, _) = try await adminFrame(person, context, section: "policy")
        // Read as a form: a browser's GET form writes spaces as `+`, which the URI's own query reading keeps.
        let query = FormFields(request.uri.query ?? "")
        let projects = try await projectService.list(for: person.caller).filter { $0.teams.contains(frame.team) }
        let chosen = query["project"].flatMap { name in projects.first { $0.name == name } }
        let text = try chosen.flatMap { try ProjectService.sessionPolicy(for: $0) }
        let guardrails = sessions.guardrails
        let effective = try await guardrails.effectivePolicy(text)
        var page = PolicyPage(
            chrome: try await chrome(person, tab: "admin"), admin: frame,
            projects: projects.map { TeamChoice(name: $0.name, selected: $0.name == chosen?.name) },
            hasProjects: !projects.isEmpty, project: chosen?.name ?? "",
            scope: chosen.map { "Sessions of project \($0.name)" } ?? "Every session of team \(frame.team)",
            lines: effective?.summary ?? [], notes: effective?.notes ?? [],
            hasLines: effective.map { !$0.summary.isEmpty } ?? false,
            command: query["command"] ?? "", host: query["host"] ?? "",
            answer: nil, problem: nil)
        do {
            var explanation: PolicyExplanation?
            if !page.command.trimmingCharacters(in: .whitespaces).isEmpty {
                explanation = try await guardrails.explain(command: page.command, under: text)
            } else if !page.host.trimmingCharacters(in: .whitespaces).isEmpty {
                explanation = try await guardrails.explain(host: page.host, under: text)
            }
            page.answer = explanation.map {
                Answer(
                    sentence: $0.sentence, action: $0.action.rawValue, isAllow: $0.action == .allow,
                    isAsk: $0.action == .ask, isDeny: $0.action == .deny)
            }
        } catch let error as PaddockError where error.code == .invalidArgument {
            page.problem = error.message
        }
        return try pages.page("admin-policy", page)
    }
}
