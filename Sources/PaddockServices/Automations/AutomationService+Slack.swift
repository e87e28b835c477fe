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
            // Slack sends the interaction as JSON in the `payload` form field, and wants only a 200 back: what
            // the clicker reads comes through the outbox (the thread's message edited, or an ephemeral note).
            guard let text = Self.formFields(request.body)["payload"] else {
                throw PaddockError.invalidArgument("the interaction has no payload field")
            }
            let payload = try JSONDocument.parse(Data(text.utf8))
            if let click = SlackClick(payload: payload) {
                try await self.click(click)
            } else {
                let type = payload[try JSONPath("type")]?.text ?? "-"
                logger.info(
                    "a Slack interaction that is not one of our buttons was ignored", metadata: ["type": "\(type)"])
            }
            return .object([:])
        }
    }

    /// A message for the Slack automations: stored once per automation whose filter it passes.
    func deliver(_ message: SlackMessage) async throws {
        var linked = try await store.linkedUser(provider: "slack", external: message.user)
        if linked == nil { linked = await userByEmail(message.user) }
        let event = message.event
        for automation in try await store.automations() where automation.spec.source == .slack {
            let context = Self.context(event, automation)
            guard try automation.spec.filter.allSatisfy({ try $0.matches(context) }) else { continue }
            let reply = ReplyTarget(
                kind: "slack", channel: message.channel, thread: message.thread, responseURL: message.responseURL)
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

    /// The Paddock person a Slack user maps to by e-mail, when no explicit link says: Slack's `users.info` (with
    /// the bot token; the app needs `users:read.email`) gives the profile's address and whether Slack confirmed
    /// it, and a confirmed address that an identity provider verified for a Paddock account (OIDC
    /// `email_verified`) names that account. Unconfirmed on either side: no mapping. Remembered for five
    /// minutes, as Slack rate-limits the method.
    func userByEmail(_ slackUser: String) async -> String? {
        guard let slack = integrations.slack, let emails = sessions.store as? any VerifiedEmailStore else { return nil }
        if let known = emailMatches[slackUser], known.until > clock() { return known.user }
        var user: String?
        do {
            let token = try await secretValue(slack.botToken)
            let id = slackUser.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? slackUser
            let info = try JSONDocument.parse(
                try await sender.get(url: slack.apiURL + "/users.info?user=\(id)", bearer: token))
            if info[try JSONPath("ok")] == .bool(true), info[try JSONPath("user.is_email_confirmed")] == .bool(true),
                let email = info[try JSONPath("user.profile.email")]?.text, email.contains("@")
            {
                user = try await emails.user(verifiedEmail: email)
            }
        } catch {
            // Unmapped is the safe answer: the person is told whom to ask for a link.
            logger.warning(
                "a Slack user's e-mail could not be looked up",
                metadata: ["slack.user": "\(slackUser)", "error": "\(error)"])
            return nil
        }
        emailMatches[slackUser] = (user, clock().addingTimeInterval(300))
        return user
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
        // The refusal and its answer in one transaction; a retried delivery is stored as deduplicated instead,
        // and is neither audited nor answered again.
        let replies = try replies(refused, automation)
        let stored = try await store.insertInvocation(refused, queueing: replies)
        if stored.decision == .refused {
            try await audit(stored, automation)
            if !replies.isEmpty { wakeup.signal() }
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

    /// The `X-Slack-Signature` Slack sends with `body` at `timestamp` (what a stand-in for Slack signs with).
    public static func slackSignature(_ body: Data, timestamp: String, secret: String) -> String {
        var signed = Data("v0:\(timestamp):".utf8)
        signed.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return "v0=" + mac.map { String(format: "%02x", $0) }.joined()
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

    /// The Slack reply for an invocation: `chat.postMessage` into its thread, with the bot token from the vault;
    /// for a slash command, a post to its `response_url` while Slack still takes one (30 minutes), visible to the
    /// channel. A GitHub reply is a comment on the issue or pull request.
    func replyMessage(_ invocation: Invocation, to reply: ReplyTarget, final: Bool) throws -> OutboxMessage? {
        let text = replyText(invocation, final: final)
        switch reply.kind {
        case "slack":
            guard let slack = integrations.slack, let channel = reply.channel else { return nil }
            if let url = reply.responseURL, clock().timeIntervalSince(invocation.receivedAt) < Self.responseURLLifetime
            {
                let body: JSONDocument = .object([
                    "response_type": .string("in_channel"), "replace_original": .bool(false), "text": .string(text),
                ])
                return OutboxMessage(
                    invocation: invocation.id, kind: "slack-response", url: url, body: body.jsonText, at: clock())
            }
            var body: [String: JSONDocument] = ["channel": .string(channel), "text": .string(text)]
            if let thread = reply.thread { body["thread_ts"] = .string(thread) }
            return OutboxMessage(
                invocation: invocation.id, kind: "slack", url: slack.apiURL + "/chat.postMessage",
                body: JSONDocument.object(body).jsonText, credential: slack.botToken, at: clock())
        case "github":
            guard let github = integrations.github, let repository = reply.repository, let issue = reply.issue else {
                return nil
            }
            // A review comment is answered in its own thread; an issue or pull request comment on the issue.
            let url =
                reply.comment.map { "\(github.apiURL)/repos/\(repository)/pulls/\(issue)/comments/\($0)/replies" }
                ?? "\(github.apiURL)/repos/\(repository)/issues/\(issue)/comments"
            return OutboxMessage(
                invocation: invocation.id, kind: "github", url: url,
                body: JSONDocument.object(["body": .string(text)]).jsonText, credential: github.token, at: clock())
        default:
            return nil
        }
    }

    /// How long Slack takes posts to a slash command's `response_url` (30 minutes), less a margin for the
    /// outbox's retries; a later outcome is posted in the channel instead.
    static let responseURLLifetime: TimeInterval = 25 * 60

    /// The edit of the thread's "working on it" message that says how far the run got: `chat.update` of that
    /// post (its `ts` is filled in when it is sent). Only the step and the tool's name: a channel may be read by
    /// people who may not see the session, and a command line can hold anything.
    func progressMessage(_ invocation: Invocation, post: String, steps: Int, tool: String?) -> OutboxMessage? {
        guard let slack = integrations.slack, let channel = invocation.reply?.channel else { return nil }
        var text = replyText(invocation, final: false)
        text += "\nStep \(steps)" + (tool.map { " (\($0.prefix(40)))" } ?? "") + "…"
        var message = OutboxMessage(
            invocation: invocation.id, kind: "slack", url: slack.apiURL + "/chat.update",
            body: JSONDocument.object(["channel": .string(channel), "text": .string(text)]).jsonText,
            credential: slack.botToken, at: clock())
        message.edits = post
        message.topic = "progress"
        return message
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
    /// A slash command's `response_url`, where its answers go.
    var responseURL: String?

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
        // Only an http(s) URL is kept: it is where the outbox posts.
        responseURL = form["response_url"].flatMap { URL(string: $0) }.flatMap {
            $0.scheme == "https" || $0.scheme == "http" ? $0.absoluteString : nil
        }
    }
}
