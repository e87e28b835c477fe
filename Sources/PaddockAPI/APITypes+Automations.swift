import Foundation
import PaddockCore

/// `POST /v1/automations`: creates an automation. `name`, `source`, `project`, `prompt` are required; `runAs`
/// defaults to the caller.
public struct CreateAutomationBody: Codable, Sendable, Equatable {
    public var name: String
    public var team: String?
    public var source: AutomationSource
    /// Rules such as `payload.event.type=trigger`, `event.text~deploy`, `payload.alert` (see `AutomationFilter`).
    public var filter: [String]?
    public var project: String
    public var agent: String?
    public var prompt: String
    public var runAs: String?
    /// `10/1h`.
    public var rateLimit: String?
    public var reportTo: String?
    public var schedule: String?
    public var timeZone: String?
    public var idempotencyKey: String?
    public var maxConsecutiveFailures: Int?
    /// `pagerduty` or `sentry`: also accept that service's own signature of the body.
    public var signature: String?
    /// The webhook's secret, when the sending service generates it (PagerDuty's, Sentry's); nil: Paddock makes
    /// one and shows it once.
    public var secret: String?

    public init(
        name: String, team: String? = nil, source: AutomationSource, filter: [String]? = nil, project: String,
        agent: String? = nil, prompt: String, runAs: String? = nil, rateLimit: String? = nil, reportTo: String? = nil,
        schedule: String? = nil, timeZone: String? = nil, idempotencyKey: String? = nil,
        maxConsecutiveFailures: Int? = nil, signature: String? = nil, secret: String? = nil
    ) {
        self.signature = signature
        self.secret = secret
        self.name = name
        self.team = team
        self.source = source
        self.filter = filter
        self.project = project
        self.agent = agent
        self.prompt = prompt
        self.runAs = runAs
        self.rateLimit = rateLimit
        self.reportTo = reportTo
        self.schedule = schedule
        self.timeZone = timeZone
        self.idempotencyKey = idempotencyKey
        self.maxConsecutiveFailures = maxConsecutiveFailures
    }

    /// The spec, with the caller as the run-as person when none is named.
    public func spec(caller: String) throws(PaddockError) -> AutomationSpec {
        var rules: [AutomationFilter] = []
        for text in filter ?? [] { rules.append(try AutomationFilter(parsing: text)) }
        return AutomationSpec(
            name: name, team: team, source: source, filter: rules, project: project, agent: agent, prompt: prompt,
            runAs: runAs ?? caller,
            rateLimit: try rateLimit.map { text throws(PaddockError) in try RateLimit(parsing: text) } ?? .default,
            reportTo: reportTo, schedule: schedule, timeZone: timeZone, idempotencyKey: idempotencyKey,
            maxConsecutiveFailures: maxConsecutiveFailures ?? AutomationSpec.defaultMaxConsecutiveFailures,
            signature: signature)
    }
}

/// An automation; `secret` only in the answer to its creation (webhooks sign with it; it is never shown again).
public struct AutomationBody: Codable, Sendable, Equatable {
    public var automation: Automation
    public var secret: String?
    /// Where webhook events go, relative to the server: `/hooks/<id>`.
    public var hook: String?

    public init(_ automation: Automation, secret: String? = nil) {
        self.automation = automation
        self.secret = secret
        hook = automation.spec.source == .webhook ? "/hooks/\(automation.id)" : nil
    }
}

public struct AutomationListBody: Codable, Sendable, Equatable {
    public var automations: [Automation]
    public init(automations: [Automation]) { self.automations = automations }
}

/// `POST /v1/automations/{id}/pause`.
public struct PauseAutomationBody: Codable, Sendable, Equatable {
    public var reason: String?
    public init(reason: String? = nil) { self.reason = reason }
}

/// `POST /v1/automations/{id}/run` and `/test`: the event as JSON text (any JSON document; none is `{}`). Text,
/// so the API's snake_case key conversion leaves the event's own keys alone.
public struct AutomationEventBody: Codable, Sendable, Equatable {
    public var event: String?
    public init(event: String? = nil) { self.event = event }
}

/// What a dry run says.
public struct AutomationTestBody: Codable, Sendable, Equatable {
    public var decision: String
    public var reason: String?
    public var prompt: String?
    public var missing: [String]
    public init(decision: String, reason: String?, prompt: String?, missing: [String]) {
        self.decision = decision
        self.reason = reason
        self.prompt = prompt
        self.missing = missing
    }
}

/// An invocation with the messages its outbox sends.
public struct InvocationBody: Codable, Sendable, Equatable {
    public var invocation: Invocation
    public var outbox: [OutboxMessage]
    public init(invocation: Invocation, outbox: [OutboxMessage]) {
        self.invocation = invocation
        self.outbox = outbox
    }
}

public struct InvocationListBody: Codable, Sendable, Equatable {
    public var invocations: [InvocationBody]
    public init(invocations: [InvocationBody]) { self.invocations = invocations }
}

/// `202` to a webhook: the event is stored; its invocation's status is at `status`.
public struct HookAcceptedBody: Codable, Sendable, Equatable {
    public var invocation: String
    public var decision: String
    public var status: String
    public init(invocation: String, decision: String, status: String) {
        self.invocation = invocation
        self.decision = decision
        self.status = status
    }
}

/// `PUT /v1/identity-links/{provider}/{external}`: the Paddock user a Slack user id or GitHub login acts as.
public struct IdentityLinkBody: Codable, Sendable, Equatable {
    public var user: String
    public init(user: String) { self.user = user }
}

public struct IdentityLinkListBody: Codable, Sendable, Equatable {
    public var links: [IdentityLink]
    public init(links: [IdentityLink]) { self.links = links }
}

/// `POST /v1/projects/{project}/automations`: the project's automations after applying its runtime.yml; a new
/// webhook's secret is in its entry, once.
public struct AppliedAutomationsBody: Codable, Sendable, Equatable {
    public var automations: [AutomationBody]
    public init(automations: [AutomationBody]) { self.automations = automations }
}
