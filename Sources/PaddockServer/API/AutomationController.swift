import Foundation
import Hummingbird
import NIOCore
import PaddockAPI
import PaddockCore
import PaddockServices

/// `/v1/automations`: create, list, show, pause, resume, remove, run now, dry-run and history. The service
/// decides who may do what and records it; this only translates the wire format.
struct AutomationController {
    let automations: AutomationService

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.get(":automation", use: get)
        group.delete(":automation", use: remove)
        group.post(":automation/pause", use: pause)
        group.post(":automation/resume", use: resume)
        group.post(":automation/run", use: runNow)
        group.post(":automation/test", use: test)
        group.get(":automation/invocations", use: history)
        group.get(":automation/invocations/:invocation", use: invocation)
    }

    @Sendable func list(_ request: Request, context: PaddockRequestContext) async throws -> AutomationListBody {
        AutomationListBody(automations: try await automations.list(for: try context.caller()))
    }

    @Sendable func create(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        AutomationBody
    > {
        let body = try await request.decode(as: CreateAutomationBody.self, context: context)
        let caller = try context.caller()
        let (automation, secret) = try await automations.create(
            try body.spec(caller: caller.user), secret: body.secret, by: caller)
        return EditedResponse(status: .created, response: AutomationBody(automation, secret: secret))
    }

    @Sendable func get(_ request: Request, context: PaddockRequestContext) async throws -> AutomationBody {
        AutomationBody(try await automations.get(try Self.id(context), for: try context.caller()))
    }

    @Sendable func remove(_ request: Request, context: PaddockRequestContext) async throws -> AutomationBody {
        AutomationBody(try await automations.remove(try Self.id(context), by: try context.caller()))
    }

    @Sendable func pause(_ request: Request, context: PaddockRequestContext) async throws -> AutomationBody {
        let body = try await request.decode(as: PauseAutomationBody.self, context: context)
        return AutomationBody(
            try await automations.setPaused(try Self.id(context), true, reason: body.reason, by: try context.caller()))
    }

    @Sendable func resume(_ request: Request, context: PaddockRequestContext) async throws -> AutomationBody {
        AutomationBody(try await automations.setPaused(try Self.id(context), false, by: try context.caller()))
    }

    @Sendable func runNow(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        InvocationBody
    > {
        let body = try await request.decode(as: AutomationEventBody.self, context: context)
        let event = try body.event.map { text throws(PaddockError) in try JSONDocument.parse(Data(text.utf8)) }
        let invocation = try await automations.runNow(try Self.id(context), event: event, by: try context.caller())
        return EditedResponse(status: .accepted, response: InvocationBody(invocation: invocation, outbox: []))
    }

    @Sendable func test(_ request: Request, context: PaddockRequestContext) async throws -> AutomationTestBody {
        let body = try await request.decode(as: AutomationEventBody.self, context: context)
        let event = try JSONDocument.parse(Data((body.event ?? "{}").utf8))
        let decision = try await automations.test(try Self.id(context), event: event, by: try context.caller())
        return AutomationTestBody(
            decision: decision.decision.rawValue, reason: decision.reason, prompt: decision.prompt,
            missing: decision.missing)
    }

    @Sendable func history(_ request: Request, context: PaddockRequestContext) async throws -> InvocationListBody {
        let limit = request.uri.queryParameters.get("limit").flatMap { Int($0) } ?? 50
        let records = try await automations.history(try Self.id(context), limit: limit, for: try context.caller())
        return InvocationListBody(
            invocations: records.map { InvocationBody(invocation: $0.invocation, outbox: $0.outbox) })
    }

    @Sendable func invocation(_ request: Request, context: PaddockRequestContext) async throws -> InvocationBody {
        let id = try context.requiredParameter("invocation", "invocation id")
        let record = try await automations.invocation(id, for: try context.caller())
        guard record.invocation.automation == (try Self.id(context)) else {
            throw PaddockError.notFound("invocation \(InputLimits.printable(id)) does not exist")
        }
        return InvocationBody(invocation: record.invocation, outbox: record.outbox)
    }

    static func id(_ context: PaddockRequestContext) throws -> String {
        try context.requiredParameter("automation", "automation id")
    }
}

/// `/v1/identity-links`: which Slack user or GitHub login acts as which Paddock user (owners and admins).
struct IdentityLinkController {
    let automations: AutomationService

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.get { _, context -> IdentityLinkListBody in
            IdentityLinkListBody(links: try await automations.links(by: try context.caller()))
        }
        group.put(":provider/:external") { request, context -> IdentityLinkListBody in
            let body = try await request.decode(as: IdentityLinkBody.self, context: context)
            let caller = try context.caller()
            try await automations.link(
                provider: try context.requiredParameter("provider", "provider"),
                external: try context.requiredParameter("external", "identity"), user: body.user, by: caller)
            return IdentityLinkListBody(links: try await automations.links(by: caller))
        }
        group.delete(":provider/:external") { _, context -> IdentityLinkListBody in
            let caller = try context.caller()
            try await automations.link(
                provider: try context.requiredParameter("provider", "provider"),
                external: try context.requiredParameter("external", "identity"), user: nil, by: caller)
            return IdentityLinkListBody(links: try await automations.links(by: caller))
        }
    }
}

/// `/hooks/<automation id>`: events from outside Paddock (PagerDuty, Sentry, anything that POSTs JSON). Not under
/// `/v1` and not token-authenticated: each request proves itself with the automation's secret, which the
/// service checks. The event is stored before the `202` goes back, and processed from the store.
struct HookController {
    let automations: AutomationService

    func addRoutes(to group: RouterGroup<PaddockRequestContext>) {
        group.post("slack/events") { request, context in try await slack(.events, request, context) }
        group.post("slack/commands") { request, context in try await slack(.commands, request, context) }
        group.post("slack/interactive") { request, context in try await slack(.interactive, request, context) }
        group.post("github", use: github)
        group.post(":automation", use: receive)
        group.get(":automation/invocations/:invocation", use: status)
    }

    static func body(_ request: Request) async throws -> Data {
        do {
            return Data(try await request.body.collect(upTo: AutomationService.maxWebhookBytes).readableBytesView)
        } catch is NIOTooManyBytesError { throw PaddockError.bodyTooLarge(limit: AutomationService.maxWebhookBytes) }
    }

    @Sendable func slack(_ kind: SlackRequestKind, _ request: Request, _ context: PaddockRequestContext) async throws
        -> JSONDocument
    {
        let body = try await Self.body(request)
        return try await automations.receiveSlack(kind, WebhookRequest(body: body, headers: Self.headers(request)))
    }

    @Sendable func github(_ request: Request, context: PaddockRequestContext) async throws -> JSONDocument {
        let body = try await Self.body(request)
        return try await automations.receiveGitHub(WebhookRequest(body: body, headers: Self.headers(request)))
    }

    @Sendable func receive(_ request: Request, context: PaddockRequestContext) async throws -> EditedResponse<
        HookAcceptedBody
    > {
        let id = try context.requiredParameter("automation", "automation id")
        let invocation = try await automations.receiveWebhook(
            id, WebhookRequest(body: try await Self.body(request), headers: Self.headers(request)))
        return EditedResponse(
            status: .accepted,
            response: HookAcceptedBody(
                invocation: invocation.id, decision: invocation.decision.rawValue,
                status: "/hooks/\(id)/invocations/\(invocation.id)"))
    }

    @Sendable func status(_ request: Request, context: PaddockRequestContext) async throws -> InvocationBody {
        let id = try context.requiredParameter("automation", "automation id")
        let invocation = try context.requiredParameter("invocation", "invocation id")
        let record = try await automations.hookStatus(
            id, invocation: invocation, WebhookRequest(body: Data(), headers: Self.headers(request)))
        return InvocationBody(invocation: record.invocation, outbox: record.outbox)
    }

    static func headers(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for field in request.headers { out[field.name.canonicalName] = field.value }
        return out
    }
}
