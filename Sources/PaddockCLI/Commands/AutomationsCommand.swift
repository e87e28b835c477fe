import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

struct AutomationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "automations", abstract: "Start agent work from webhooks and schedules (triggers).",
        discussion: """
            An automation turns an event — a signed webhook (PagerDuty, Sentry, anything that POSTs JSON) or a cron \
            schedule — into a session of a project with a prompt filled from the event ({{event.text}}, \
            {{payload.alert.title}}), run as a named person: never more than they may do. Every event is recorded \
            (`history`), stored before it is acknowledged, and a repeated one (same idempotency key) starts nothing. \
            An automation pauses itself after failures in a row and says why.
            """,
        subcommands: [
            Create.self, List.self, Show.self, Pause.self, Resume.self, Remove.self, RunNow.self, Test.self,
            History.self, Link.self, Unlink.self, Links.self, Apply.self,
        ])

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a project's automations what its runtime.yml's automations: says (owners and admins).",
            discussion: """
                New entries are created (a new webhook's secret is printed once), changed ones updated with their \
                history kept, and ones no longer in the file removed.
                """)
        @Argument(help: "Project name.") var project: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let body = try await APIClient.fromEnvironment().call(
                .POST, "/v1/projects/\(project)/automations", json: PauseAutomationBody(),
                as: AppliedAutomationsBody.self)
            if output.json { return try printJSON(body) }
            guard !body.automations.isEmpty else { return print("project \(project) defines no automations") }
            for entry in body.automations {
                let a = entry.automation
                print("\(a.id)  \(a.spec.name.padding(18))  \(a.spec.source.rawValue)")
                if let secret = entry.secret { print("    webhook secret (shown once): \(secret)") }
            }
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let a Slack user or GitHub login act as a Paddock user (owners and admins).",
            discussion: "Example: paddock automations link slack U024BE7LH alice")
        @Argument(help: "slack or github.") var provider: String
        @Argument(help: "The Slack user id (U…) or GitHub login.") var external: String
        @Argument(help: "The Paddock user their events run as.") var user: String

        func run() async throws {
            _ = try await APIClient.fromEnvironment().call(
                .PUT, try linkPath(provider, external), json: IdentityLinkBody(user: user),
                as: IdentityLinkListBody.self)
            print("\(provider) \(external) now acts as \(user)")
        }
    }

    struct Unlink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a Slack or GitHub identity link.")
        @Argument(help: "slack or github.") var provider: String
        @Argument(help: "The Slack user id or GitHub login.") var external: String

        func run() async throws {
            _ = try await APIClient.fromEnvironment().call(
                .DELETE, try linkPath(provider, external), as: IdentityLinkListBody.self)
            print("\(provider) \(external) is no longer linked")
        }
    }

    struct Links: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List Slack and GitHub identity links.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let body = try await APIClient.fromEnvironment().call(
                .GET, "/v1/identity-links", as: IdentityLinkListBody.self)
            if output.json { return try printJSON(body) }
            guard !body.links.isEmpty else { return print("no links; add one with `paddock automations link`") }
            for link in body.links { print("\(link.provider.padding(7))  \(link.external.padding(20))  \(link.user)") }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an automation; a webhook's secret is printed once.",
            discussion: """
                Examples:
                  paddock automations create pd-triage --source webhook --project web --team oncall \\
                    --prompt 'Reproduce and propose a fix: {{payload.event.data.title}}' \\
                    --filter payload.event.event_type=incident.triggered --idempotency-key json:event.id
                  paddock automations create deps --source schedule --schedule '0 6 * * 1' --time-zone Europe/Berlin \\
                    --project web --prompt 'Bump the dependencies and run the tests'
                """)
        @Argument(help: "A name people recognise.") var name: String
        @Option(help: "webhook or schedule (slack and github to come).") var source: String
        @Option(help: "The project the work runs in.") var project: String
        @Option(help: "The prompt, with {{json.path}} placeholders filled from the event.") var prompt: String
        @Option(help: "The team it belongs to (and its sessions).") var team: String?
        @Option(help: "Who the work runs as (default: you; someone else: admins only).") var runAs: String?
        @Option(help: "The agent (default: the project's).") var agent: String?
        @Option(help: "A rule the event must pass (repeatable): PATH=V, PATH!=V, PATH~TEXT or PATH.")
        var filter: [String] = []
        @Option(help: "At most COUNT runs per WINDOW, like 10/1h (default 10/1h).") var rateLimit: String?
        @Option(help: "An http(s) URL that gets the outcome as a JSON POST.") var reportTo: String?
        @Option(help: "A five-field cron expression (schedule).") var schedule: String?
        @Option(help: "The schedule's IANA time zone (default UTC).") var timeZone: String?
        @Option(help: "Where a webhook's idempotency key is: header:NAME or json:PATH.") var idempotencyKey: String?
        @Option(help: "Pause after this many failures in a row (default 5).") var maxFailures: Int?
        @Option(help: "Also accept this service's own signature of the body: pagerduty or sentry.")
        var signature: String?
        @Flag(help: "Read the webhook's secret from stdin (the one PagerDuty or Sentry generated).")
        var secretStdin = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var secret: String?
            if secretStdin {
                secret = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let body = CreateAutomationBody(
                name: name, team: team, source: try AutomationSource(parsing: source), filter: filter,
                project: project, agent: agent, prompt: prompt, runAs: runAs, rateLimit: rateLimit,
                reportTo: reportTo, schedule: schedule, timeZone: timeZone, idempotencyKey: idempotencyKey,
                maxConsecutiveFailures: maxFailures, signature: signature, secret: secret)
            // Checked here first so a typo fails before the request.
            try body.spec(caller: runAs ?? "owner").validate()
            let created = try await APIClient.fromEnvironment().call(
                .POST, "/v1/automations", json: body, as: AutomationBody.self)
            if output.json { return try printJSON(created) }
            let a = created.automation
            print(
                "created automation \(a.id) (\(a.spec.name)): \(a.spec.source.rawValue) → project \(a.spec.project), runs as \(a.spec.runAs)"
            )
            if let hook = created.hook, let secret = created.secret {
                print("webhook:  POST <server>\(hook)")
                print("secret:   \(secret)")
                print("          shown once: send it as Authorization: Bearer, or sign the body (see the README)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the automations you may see.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(.GET, "/v1/automations", as: AutomationListBody.self)
            if output.json { return try printJSON(list) }
            guard !list.automations.isEmpty else {
                print("no automations; create one with `paddock automations create NAME --source webhook …`")
                return
            }
            print("ID                   NAME                SOURCE    PROJECT         RUN AS        STATE")
            for a in list.automations {
                print(
                    [
                        a.id.padding(19), a.spec.name.padding(18), a.spec.source.rawValue.padding(8),
                        a.spec.project.padding(14), a.spec.runAs.padding(12),
                        a.paused ? "paused: \(a.pausedReason ?? "-")" : "active",
                    ].joined(separator: "  "))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an automation.")
        @Argument(help: "Automation id.") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let body = try await APIClient.fromEnvironment().call(.GET, try path(id), as: AutomationBody.self)
            if output.json { return try printJSON(body) }
            let a = body.automation
            let s = a.spec
            print("id:          \(a.id)")
            print("name:        \(s.name)")
            print("source:      \(s.source.rawValue)\(body.hook.map { " (POST \($0))" } ?? "")")
            if let schedule = s.schedule { print("schedule:    \(schedule) (\(s.timeZone ?? "UTC"))") }
            print("project:     \(s.project)\(s.team.map { " for team \($0)" } ?? "")")
            print("runs as:     \(s.runAs)\(s.agent.map { " with agent \($0)" } ?? "")")
            print("prompt:      \(s.prompt)")
            print(
                "filter:      \(s.filter.isEmpty ? "none (every event)" : s.filter.map(\.description).joined(separator: ", "))"
            )
            print("rate limit:  \(s.rateLimit.count) per \(Int(s.rateLimit.window))s")
            if let reportTo = s.reportTo { print("reports to:  \(reportTo)") }
            print(
                "state:       \(a.paused ? "paused: \(a.pausedReason ?? "-")" : "active"), \(a.consecutiveFailures) failure(s) in a row (pauses at \(s.maxConsecutiveFailures))"
            )
            print("created:     by \(a.createdBy) at \(format(a.createdAt))")
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop starting work (events are still recorded).")
        @Argument(help: "Automation id.") var id: String
        @Option(help: "Why, for the history.") var reason: String?

        func run() async throws {
            let body = try await APIClient.fromEnvironment().call(
                .POST, try path(id) + "/pause", json: PauseAutomationBody(reason: reason), as: AutomationBody.self)
            print("paused \(body.automation.id)")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start work again; clears the failure count.")
        @Argument(help: "Automation id.") var id: String

        func run() async throws {
            let body = try await APIClient.fromEnvironment().call(
                .POST, try path(id) + "/resume", json: PauseAutomationBody(), as: AutomationBody.self)
            print("resumed \(body.automation.id)")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove an automation and its history (work it started goes on).")
        @Argument(help: "Automation id.") var id: String

        func run() async throws {
            _ = try await APIClient.fromEnvironment().call(.DELETE, try path(id), as: AutomationBody.self)
            print("removed \(id)")
        }
    }

    struct RunNow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run-now", abstract: "Invoke it now, with an event from a file or an empty one.")
        @Argument(help: "Automation id.") var id: String
        @Option(help: "A JSON file: the event.") var event: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let body = try await APIClient.fromEnvironment().call(
                .POST, try path(id) + "/run", json: AutomationEventBody(event: try event.map(readEvent)),
                as: InvocationBody.self)
            if output.json { return try printJSON(body) }
            print(
                "invocation \(body.invocation.id): \(body.invocation.decision.rawValue); `paddock automations history \(id)` follows it"
            )
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dry run: the decision and the prompt an event would get; starts nothing.")
        @Argument(help: "Automation id.") var id: String
        @Option(help: "A JSON file: the event.") var event: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let body = try await APIClient.fromEnvironment().call(
                .POST, try path(id) + "/test", json: AutomationEventBody(event: try readEvent(event)),
                as: AutomationTestBody.self)
            if output.json { return try printJSON(body) }
            print("decision: \(body.decision == "started" ? "would start" : body.decision)")
            if let reason = body.reason { print("reason:   \(reason)") }
            if !body.missing.isEmpty { print("missing:  \(body.missing.joined(separator: ", ")) (left empty)") }
            if let prompt = body.prompt { print("prompt:\n\(prompt)") }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What each event did, newest first.")
        @Argument(help: "Automation id.") var id: String
        @Option(help: "How many.") var limit = 20
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let body = try await APIClient.fromEnvironment().call(
                .GET, try path(id) + "/invocations?limit=\(limit)", as: InvocationListBody.self)
            if output.json { return try printJSON(body) }
            guard !body.invocations.isEmpty else { return print("no invocations yet") }
            for record in body.invocations {
                let i = record.invocation
                var line =
                    "\(i.id)  \(format(i.receivedAt))  \(i.trigger.padding(8))  \(i.decision.rawValue.padding(12))"
                if let session = i.session { line += "  session \(session)" }
                if let outcome = i.outcome { line += "  → \(outcome)" }
                if let human = i.human { line += "  (by \(human))" }
                print(line)
                if let reason = i.reason { print("    \(reason)") }
                for message in record.outbox {
                    print(
                        "    outbox \(message.kind): \(message.status.rawValue) after \(message.attempts) attempt(s)\(message.lastError.map { " — \($0)" } ?? "")"
                    )
                }
            }
        }
    }
}

private func path(_ id: String) throws -> String {
    guard Automation.looksLikeID(id) else {
        throw ValidationError("'\(id)' is not an automation id (au_ and 16 hex digits); `paddock automations list`")
    }
    return "/v1/automations/\(id)"
}

private func linkPath(_ provider: String, _ external: String) throws -> String {
    guard ["slack", "github"].contains(provider) else { throw ValidationError("the provider is slack or github") }
    guard let escaped = external.addingPercentEncoding(withAllowedCharacters: .alphanumerics), !escaped.isEmpty else {
        throw ValidationError("give the Slack user id or GitHub login")
    }
    return "/v1/identity-links/\(provider)/\(escaped)"
}

private func readEvent(_ file: String) throws -> String {
    let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
    guard let data else { throw ValidationError("cannot read the event file \(file); check the path") }
    _ = try JSONDocument.parse(data)
    return String(decoding: data, as: UTF8.self)
}
