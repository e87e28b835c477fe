import Crypto
import Foundation
import PaddockCore
import PaddockStore

/// The three Slack request URLs of the app.
public enum SlackRequestKind: String, Sendable {
    /// The Events API: app mentions and direct messages (and the URL's one-time challenge).
    case events
    /// Slash commands (form-encoded).
    case commands
    /// Buttons (form-encoded `payload`).
    case interactive
}

extension AutomationService {
    /// Handles a request from Slack and returns the JSON to answer with (at once: Slack wants an answer within
    /// three seconds, and the work happens from the store). Every request must carry Slack's `v0` signature
    /// (HMAC-SHA256 of `v0:<timestamp>:<body>` with the app's signing secret from the vault, the timestamp within
    /// five minutes); anything else is `unauthenticated` and recorded in the org trail.
    ///
    /// An app mention or direct message goes to every Slack automation whose filter it passes, as the Paddock
    /// user the Slack user is linked to (`paddock automations link slack U… USER`); an unlinked user gets a reply
    /// in the thread saying whom to ask, and nothing starts. Slack's retries repeat the `event_id` and start
    /// nothing. A reply in the thread continues the thread's session.
    public func receiveSlack(_ kind: SlackRequestKind, _ request: WebhookRequest) async throws -> JSONDocument {
        guard let slack = integrations.slack else {
            throw PaddockError.notFound("this server has no Slack app set up; start it with --slack-api")
        }
        let secret = try await secretValue(slack.signingSecret)
        if let why = Self.checkSlackSignature(request, secret: secret, now: clock()) {
            logger.notice("a Slack request was refused", metadata: ["reason": "\(why)"])
            try await sessions.orgTrail.record("automation.slack_refused", ["reason": .string(why)], by: .system)
            throw PaddockError(.unauthenticated, "the request does not carry a valid Slack signature")
        }
        switch kind {
        case .events:
            let body = try JSONDocument.parse(request.body)
            if body[try JSONPath("type")]?.text == "url_verification" {
                return .object(["challenge": body[try JSONPath("challenge")] ?? .string("")])
            }
            guard body[try JSONPath("type")]?.text == "event_callback", let message = SlackMessage(callback: body)
            else { return .object([:]) }
            try await deliver(message)
            return .object([:])
        case .commands:
            let form = Self.formFields(request.body)
            guard let message = SlackMessage(command: form) else {
                throw PaddockError.invalidArgument("the slash command is missing its user, channel or trigger id")
            }
            try await deliver(message)
            return .object([
                "response_type": .string("ephemeral"),
                "text": .string("Got it — I will post in this channel when the work starts."),
            ])
        case .interactive:
            // Verified, but buttons (Approve/Deny) are not wired yet: say so instead of pretending.
            return .object([
                "response_type": .string("ephemeral"), "replace_original": .bool(false),
                "text": .string(
                    "Buttons are not supported yet; answer approvals with `paddock approvals` or the web UI."),
            ])
        }
    }

    /// A message for the Slack automations: stored once per automation whose filter it passes.
    func deliver(_ message: SlackMessage) async throws {
        let linked = try await store.linkedUser(provider: "slack", external: message.user)
        let event = message.event
        for automation in try await store.automations() where automation.spec.source == .slack {
            let context = Self.context(event, automation)
            guard try automation.spec.filter.allSatisfy({ try $0.matches(context) }) else { continue }
            let reply = ReplyTarget(kind: "slack", channel: message.channel, thread: message.thread)
            if let linked {
                _ = try await receive(
                    event, automation: automation.id, dedupeKey: message.dedupeKey, trigger: "slack",
                    human: "slack:\(message.user) (\(linked))"
                ) { invocation in
                    invocation.actAs = linked
                    invocation.conversation = message.conversation
                    invocation.reply = reply
                }
            } else {
                _ = try await refuseUnlinked(
                    event, automation, dedupeKey: message.dedupeKey, source: "slack", user: message.user, reply: reply)
            }
        }
    }

    /// Records (and answers in the thread or on the issue) an event from a Slack or GitHub user who is linked to
    /// no Paddock user: nothing starts, and the reply says whom to ask for a link.
    func refuseUnlinked(
        _ event: JSONDocument, _ automation: Automation, dedupeKey: String, source: String, user: String,
        reply: ReplyTarget
    ) async throws -> Invocation {
        var refused = Invocation(
            automation: automation.id, receivedAt: clock(), dedupeKey: dedupeKey, trigger: source,
            human: "\(source):\(user)", event: event)
        refused.decision = .refused
        refused.processedAt = clock()
        refused.reply = reply
        let name = source == "github" ? "GitHub" : "Slack"
        refused.reason =
            "\(name) user \(user) is not linked to a Paddock user; ask \(try await adminNames()) to run "
            + "`paddock automations link \(source) \(user) YOUR-PADDOCK-USER`"
        let stored = try await store.insertInvocation(refused)
        // A retried delivery is stored as deduplicated: it is neither audited nor answered again.
        if stored.decision == .refused {
            try await audit(stored, automation)
            await report(stored, automation)
        }
        return stored
    }

    /// Who to ask for a link: the org's owners and admins.
    func adminNames() async throws -> String {
        guard let access = sessions.store as? any AccessStore else { return "an admin" }
        let names = try await access.users().filter { $0.role.spansAllTeams }.map(\.name).sorted()
        return names.isEmpty ? "an admin" : names.prefix(5).joined(separator: " or ")
    }

    /// Nil when the request is signed by Slack with `secret` within five minutes of `now`; otherwise why not.
    public static func checkSlackSignature(_ request: WebhookRequest, secret: String, now: Date) -> String? {
        guard let stamp = request.headers["x-slack-request-timestamp"],
            let signature = request.headers["x-slack-signature"]
        else {
            return "no X-Slack-Signature or X-Slack-Request-Timestamp"
        }
        guard let seconds = Double(stamp), abs(now.timeIntervalSince1970 - seconds) <= signatureTolerance else {
            return "a timestamp more than five minutes from the server's clock"
        }
        guard signature.hasPrefix("v0="), let mac = Data(hex: String(signature.dropFirst(3))) else {
            return "a signature that is not v0=<hex>"
        }
        var signed = Data("v0:\(stamp):".utf8)
        signed.append(request.body)
        // swift-crypto compares in constant time.
        return HMAC<SHA256>.isValidAuthenticationCode(
            mac, authenticating: signed, using: SymmetricKey(data: Data(secret.utf8)))
            ? nil : "a signature that does not match the body"
    }

    /// `application/x-www-form-urlencoded` fields.
    static func formFields(_ body: Data) -> [String: String] {
        var out: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            out[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return out
    }

    /// The Slack reply for an invocation: `chat.postMessage` into its thread, with the bot token from the vault.
    func replyMessage(_ invocation: Invocation, to reply: ReplyTarget, final: Bool) throws -> OutboxMessage? {
        let text = replyText(invocation, final: final)
        switch reply.kind {
        case "slack":
            guard let slack = integrations.slack, let channel = reply.channel else { return nil }
            var body: [String: JSONDocument] = ["channel": .string(channel), "text": .string(text)]
            if let thread = reply.thread { body["thread_ts"] = .string(thread) }
            return OutboxMessage(
                invocation: invocation.id, kind: "slack", url: slack.apiURL + "/chat.postMessage",
                body: JSONDocument.object(body).jsonText, credential: slack.botToken, at: clock())
        case "github":
            guard let github = integrations.github, let repository = reply.repository, let issue = reply.issue else {
                return nil
            }
            return OutboxMessage(
                invocation: invocation.id, kind: "github",
                url: "\(github.apiURL)/repos/\(repository)/issues/\(issue)/comments",
                body: JSONDocument.object(["body": .string(text)]).jsonText, credential: github.token, at: clock())
        default:
            return nil
        }
    }
}

/// What Paddock takes from a Slack app mention, direct message or slash command.
struct SlackMessage {
    var user: String
    var channel: String
    /// The thread's first message (nil for a slash command, whose reply starts a message in the channel).
    var thread: String?
    var text: String
    var dedupeKey: String
    var kind: String

    var conversation: String? { thread.map { "slack:\(channel):\($0)" } }

    /// The event templates and filters see: `{{event.text}}`, `event.user`, `event.channel`.
    var event: JSONDocument {
        var fields: [String: JSONDocument] = [
            "type": .string(kind), "text": .string(text), "user": .string(user), "channel": .string(channel),
        ]
        if let thread { fields["thread_ts"] = .string(thread) }
        return .object(fields)
    }

    /// An `event_callback`: an `app_mention`, or a `message` in a direct message; bots' own messages (ours
    /// included) and edits are not messages to act on.
    init?(callback body: JSONDocument) {
        func text(_ keys: String...) -> String? {
            guard let v = body[JSONPath(keys: keys)], v != .null else { return nil }
            return v.text
        }
        guard let eventID = text("event_id"), let type = text("event", "type"), let user = text("event", "user"),
            let channel = text("event", "channel"), let ts = text("event", "ts")
        else { return nil }
        guard text("event", "bot_id") == nil, text("event", "subtype") == nil else { return nil }
        guard type == "app_mention" || (type == "message" && text("event", "channel_type") == "im") else { return nil }
        self.user = user
        self.channel = channel
        thread = text("event", "thread_ts") ?? ts
        // `<@U123>` mentions of the app are addressing, not the request.
        self.text = (text("event", "text") ?? "").replacingOccurrences(
            of: "<@[A-Z0-9]+>", with: "", options: .regularExpression
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        dedupeKey = "slack:" + eventID
        kind = type
    }

    init?(command form: [String: String]) {
        guard let user = form["user_id"], let channel = form["channel_id"], let trigger = form["trigger_id"] else {
            return nil
        }
        self.user = user
        self.channel = channel
        thread = nil
        text = form["text"] ?? ""
        dedupeKey = "slack-command:" + trigger
        kind = "slash_command"
    }
}
