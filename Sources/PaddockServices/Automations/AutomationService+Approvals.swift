import Foundation
import PaddockCore
import PaddockStore

/// An approval posted to a Slack thread: which invocation's thread, and the outbox message that posted it (the
/// one its answer edits).
struct AnnouncedApproval: Sendable {
    var invocation: String
    var post: String
    var channel: String
}

extension AutomationService {
    static let approveAction = "paddock_approve"
    static let denyAction = "paddock_deny"

    // MARK: Posting approvals to the thread

    /// Follows the approval inbox: a request opened by a session a Slack event started is posted to its thread
    /// with Approve/Deny buttons; once answered (there, in the CLI, on the web, or by the clock), the message is
    /// edited to say who decided, without the buttons.
    func followApprovals() async {
        guard integrations.slack != nil else { return }
        let approvals = sessions.guardrails.approvals
        let changes = await approvals.inboxChanges()
        await announceApprovals()
        for await _ in changes { await announceApprovals() }
    }

    func announceApprovals() async {
        guard let slack = integrations.slack else { return }
        let approvals = sessions.guardrails.approvals
        let open = await approvals.open()
        var queued = false
        for approval in open where announced[approval.id] == nil && !notSlacks.contains(approval.id) {
            do {
                guard let invocation = try await store.startedInvocation(session: approval.session),
                    let reply = invocation.reply, reply.kind == "slack", let channel = reply.channel
                else {
                    notSlacks.insert(approval.id)
                    continue
                }
                let team = try await sessions.get(approval.session).team
                var body: [String: JSONDocument] = [
                    "channel": .string(channel),
                    "text": .string("Approval needed: \(try await shown(approval.subject))"),
                    "blocks": .array(try await approvalBlocks(approval, team: team, buttons: true)),
                ]
                if let thread = reply.thread { body["thread_ts"] = .string(thread) }
                let message = OutboxMessage(
                    invocation: invocation.id, kind: "slack", url: slack.apiURL + "/chat.postMessage",
                    body: JSONDocument.object(body).jsonText, credential: slack.botToken, at: clock())
                // Claimed before the write: the next inbox signal must not post it twice.
                announced[approval.id] = AnnouncedApproval(
                    invocation: invocation.id, post: message.id, channel: channel)
                try await store.insertOutbox(message)
                queued = true
            } catch {
                announced[approval.id] = nil
                logger.error(
                    "an approval could not be posted to its Slack thread; it can be answered with `paddock approvals`",
                    metadata: ["approval.id": "\(approval.id)", "error": "\(error)"])
            }
        }
        let openIDs = Set(open.map(\.id))
        notSlacks.formIntersection(openIDs)
        for (id, posted) in announced where !openIDs.contains(id) {
            do {
                guard let decided = try await approvals.approval(id) else {
                    announced[id] = nil
                    continue
                }
                // Answered, but the answer is not stored yet: the signal that it is comes next.
                guard decided.state != .pending else { continue }
                announced[id] = nil
                let team = try await sessions.get(decided.session).team
                let body: JSONDocument = .object([
                    "channel": .string(posted.channel),
                    "text": .string(Self.decisionText(decided)),
                    "blocks": .array(try await approvalBlocks(decided, team: team, buttons: false)),
                ])
                var edit = OutboxMessage(
                    invocation: posted.invocation, kind: "slack", url: slack.apiURL + "/chat.update",
                    body: body.jsonText, credential: slack.botToken, at: clock())
                edit.edits = posted.post
                try await store.insertOutbox(edit)
                queued = true
            } catch {
                logger.error(
                    "an approval's answer could not be posted to its Slack thread",
                    metadata: ["approval.id": "\(id)", "error": "\(error)"])
            }
        }
        if queued { wakeup.signal() }
    }

    /// What an approval asks, with every vault value in it replaced by its name: a Slack channel is read by
    /// people who may not hold the secret. Fails closed: if the vault cannot say what to hide, nothing is shown.
    func shown(_ subject: String) async throws -> String {
        guard let vault = await vault() else { return String(subject.prefix(1000)) }
        return String((try await vault.auditRedaction()).apply(to: subject).prefix(1000))
    }

    /// The Block Kit blocks of an approval: what is asked and by which rule, then the buttons (open) or who
    /// answered (decided).
    func approvalBlocks(_ approval: Approval, team: String?, buttons: Bool) async throws -> [JSONDocument] {
        let what = approval.kind == "network" ? "connect to" : "run"
        var text = "*The agent asks to \(what)* `\(Self.escaped(try await shown(approval.subject)))`\n"
        text += "_\(Self.escaped(String(approval.rule.prefix(500))))_"
        var blocks: [JSONDocument] = [
            .object(["type": .string("section"), "text": .object(["type": .string("mrkdwn"), "text": .string(text)])])
        ]
        if buttons {
            let who = team.map { "people who hold approve on team \(Self.escaped($0))" } ?? "owners and admins"
            let deadline = ISO8601DateFormatter().string(from: approval.expiresAt)
            blocks.append(
                .object([
                    "type": .string("context"),
                    "elements": .array([
                        .object([
                            "type": .string("mrkdwn"),
                            "text": .string("Only \(who) can answer; unanswered, it is denied at \(deadline)."),
                        ])
                    ]),
                ]))
            func button(_ label: String, _ action: String, _ style: String) -> JSONDocument {
                .object([
                    "type": .string("button"), "action_id": .string(action), "value": .string(approval.id),
                    "style": .string(style),
                    "text": .object(["type": .string("plain_text"), "text": .string(label)]),
                ])
            }
            blocks.append(
                .object([
                    "type": .string("actions"), "block_id": .string("paddock_approval"),
                    "elements": .array([
                        button("Approve", Self.approveAction, "primary"), button("Deny", Self.denyAction, "danger"),
                    ]),
                ]))
        } else {
            blocks.append(
                .object([
                    "type": .string("context"),
                    "elements": .array([
                        .object(["type": .string("mrkdwn"), "text": .string(Self.escaped(Self.decisionText(approval)))])
                    ]),
                ]))
        }
        return blocks
    }

    static func decisionText(_ approval: Approval) -> String {
        switch approval.state {
        case .approved: "Approved by \(approval.decidedBy ?? "someone")."
        case .denied: "Denied by \(approval.decidedBy ?? "someone")."
        case .expired: "Nobody answered in time, so it was denied" + (approval.note.map { " (\($0))." } ?? ".")
        case .pending: "Waiting for an answer."
        }
    }

    /// Slack's mrkdwn control characters, escaped as its documentation asks.
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    // MARK: A click on a button

    /// Approve or Deny clicked in Slack: answered as the Paddock person the Slack user is linked to, only if
    /// they hold `approve` on the session's team (the approval service checks, and records the answer in the
    /// session's trail naming them, via `slack:<user>`). A refusal is told to the clicker alone (an ephemeral
    /// message through the click's `response_url`); a success edits the thread's message (`announceApprovals`).
    func click(_ click: SlackClick) async throws {
        let approvals = sessions.guardrails.approvals
        guard let approval = try await approvals.approval(click.approval) else {
            logger.notice(
                "a Slack click named an approval that does not exist", metadata: ["approval.id": "\(click.approval)"])
            return
        }
        let invocation = try await store.startedInvocation(session: approval.session)
        func tell(_ text: String) async throws {
            guard let invocation, let url = click.responseURL else { return }
            let body: JSONDocument = .object([
                "response_type": .string("ephemeral"), "replace_original": .bool(false), "text": .string(text),
            ])
            try await store.insertOutbox(
                OutboxMessage(
                    invocation: invocation.id, kind: "slack-response", url: url, body: body.jsonText, at: clock()))
            wakeup.signal()
        }
        var mapped = try await store.linkedUser(provider: "slack", external: click.user)
        if mapped == nil { mapped = await userByEmail(click.user) }
        guard let linked = mapped else {
            try await tell(
                "Your Slack user \(click.user) is not linked to a Paddock user, so you cannot answer approvals here; "
                    + "ask \(try await adminNames()) to run `paddock automations link slack \(click.user) "
                    + "YOUR-PADDOCK-USER`.")
            return
        }
        let team = try await sessions.get(approval.session).team
        do {
            let caller = try await personCaller(linked, via: "slack:\(click.user)")
            _ = try await approvals.answer(
                id: approval.id, approve: click.approve, note: "answered in Slack", by: caller, team: team)
        } catch let e as PaddockError where e.code == .permissionDenied || e.code == .notFound {
            try await tell(
                "You (\(linked) in Paddock) do not hold approve on "
                    + (team.map { "team \($0)" } ?? "this session") + ", so your answer was not taken; ask "
                    + "\(try await adminNames()) or someone who holds it.")
        } catch let e as PaddockError where e.code == .conflict {
            try await tell("Too late: \(e.message)")
        }
    }
}

/// A click on one of our buttons (`block_actions`), from Slack's `payload` form field.
struct SlackClick {
    var user: String
    var approve: Bool
    var approval: String
    var responseURL: String?

    init?(payload: JSONDocument) {
        func text(_ keys: String...) -> String? {
            guard let v = payload[JSONPath(keys: keys)], v != .null else { return nil }
            return v.text
        }
        guard text("type") == "block_actions", let user = text("user", "id"),
            case .array(let actions)? = payload[JSONPath(keys: ["actions"])], let action = actions.first,
            let id = action[JSONPath(keys: ["action_id"])]?.text,
            id == AutomationService.approveAction || id == AutomationService.denyAction,
            let value = action[JSONPath(keys: ["value"])]?.text, !value.isEmpty, value.count <= 64
        else { return nil }
        self.user = user
        approve = id == AutomationService.approveAction
        approval = value
        responseURL = text("response_url")
    }
}
