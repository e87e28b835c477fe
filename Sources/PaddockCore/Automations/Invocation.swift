import Foundation

/// One event that reached an automation, and everything that came of it: the record
/// `paddock automations history` shows. It is stored before the event is acknowledged, so what was
/// acknowledged is never lost; it is processed from the store.
public struct Invocation: Codable, Sendable, Equatable, Identifiable {
    public enum Decision: String, Codable, Sendable, CaseIterable {
        /// Stored and acknowledged; not processed yet (or the server stopped before it was).
        case pending
        /// Work was started: `session` and `run` say which.
        case started
        /// The same event (dedupe key) arrived before; nothing was started.
        case deduplicated
        /// The event did not pass the automation's filter.
        case filtered
        /// Refused before starting: paused, rate limit, an unmapped person, no permission.
        case refused
        /// Starting failed (the project, the budget, the server).
        case failed
    }

    /// `inv_` and 16 lowercase hex digits.
    public var id: String
    public var automation: String
    public var receivedAt: Date
    /// What makes two deliveries of one event the same (Slack's event_id, a webhook's idempotency key, a tick).
    /// Nil on a `deduplicated` record, which names the key in `duplicateOf` instead.
    public var dedupeKey: String?
    /// The invocation this one repeated.
    public var duplicateOf: String?
    /// Where it came from: `webhook`, `schedule`, `run-now`, `slack`, `github`.
    public var trigger: String
    /// The person behind the event as the source named them (a Slack user, a GitHub login, the caller of
    /// run-now); nil for schedules and webhooks.
    public var human: String?
    /// The event as JSON text, values under secret-looking keys replaced (`JSONDocument.redacted`). Text, not a
    /// structure, so the API's snake_case key conversion never rewrites the event's own keys.
    public var event: String
    public var decision: Decision
    /// Why it was filtered, refused or failed; the run's outcome once it ended.
    public var reason: String?
    /// The prompt the agent got.
    public var prompt: String?
    public var session: SessionID?
    public var run: String?
    /// How the run ended (`completed`, `failed`, …), once it has.
    public var outcome: String?
    public var processedAt: Date?
    public var finishedAt: Date?
    /// The Paddock person the work runs as when the event's own person was mapped to one (Slack, GitHub); nil:
    /// the automation's run-as person.
    public var actAs: String?
    /// The thread the event belongs to (`slack:C1:1700.01`, `github:acme/web#12`): a later event of the same
    /// conversation continues the session this one started.
    public var conversation: String?
    /// Where progress and the outcome are posted (a Slack thread, a GitHub issue).
    public var reply: ReplyTarget?
    /// The branch to work on instead of the project's (a pull request's head branch).
    public var branch: String?
    /// The pull request (its web address) whose head `branch` is: its submit lands there, opening no new one.
    public var pullRequest: String?
    /// The outbox message that posted "working on it" to the Slack thread: progress edits that post in place.
    public var progressPost: String?

    public init(
        id: String = Invocation.makeID(), automation: String, receivedAt: Date, dedupeKey: String?, trigger: String,
        human: String? = nil, event: JSONDocument
    ) {
        self.id = id
        self.automation = automation
        self.receivedAt = receivedAt
        self.dedupeKey = dedupeKey
        self.trigger = trigger
        self.human = human
        self.event = event.redacted().jsonText
        decision = .pending
    }

    /// The stored event as a document. It is our own text of a parsed document, so it reads back; a record
    /// changed by hand that does not is refused, never run with an empty event.
    public func eventDocument() throws(PaddockError) -> JSONDocument { try JSONDocument.parse(Data(event.utf8)) }

    public static func makeID() -> String {
        let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return "inv_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The name of the session an invocation starts. Finding a session of this name after a crash shows the
    /// invocation got as far as starting it, so it is never started twice.
    public var sessionName: String { "automation \(automation) \(id)" }
}

/// Where an invocation's progress and outcome are posted.
public struct ReplyTarget: Codable, Sendable, Equatable {
    /// `slack` or `github`.
    public var kind: String
    /// Slack: the channel and the thread's first message.
    public var channel: String?
    public var thread: String?
    /// GitHub: `owner/name` and the issue or pull request number.
    public var repository: String?
    public var issue: Int?
    /// GitHub: the pull request review comment the event was, so the answer goes to its thread.
    public var comment: Int?
    /// Slack slash commands: the `response_url` the command's answers go to (valid 30 minutes, five posts),
    /// instead of posting in the channel as the bot.
    public var responseURL: String?

    public init(
        kind: String, channel: String? = nil, thread: String? = nil, repository: String? = nil, issue: Int? = nil,
        comment: Int? = nil, responseURL: String? = nil
    ) {
        self.kind = kind
        self.channel = channel
        self.thread = thread
        self.repository = repository
        self.issue = issue
        self.comment = comment
        self.responseURL = responseURL
    }
}

/// One message the outbox sends for an invocation (the outcome to a URL, a Slack reply, a GitHub comment),
/// retried with backoff until it is delivered or gives up; recorded with the invocation.
public struct OutboxMessage: Codable, Sendable, Equatable, Identifiable {
    public enum Status: String, Codable, Sendable {
        /// `superseded`: a newer message of the same topic was queued before this one went out (a progress
        /// update), so it was never sent.
        case pending, delivered, failed, superseded
    }

    public var id: String
    public var invocation: String
    /// `webhook`, `slack`, `github`.
    public var kind: String
    public var url: String
    /// The JSON body.
    public var body: String
    /// The vault secret sent as the bearer token (read when sending; never stored here).
    public var credential: String?
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastError: String?
    public var createdAt: Date
    public var deliveredAt: Date?
    /// Slack: the outbox message whose posted message this one edits (`chat.update`); its `ts` is filled in
    /// when this one is sent, so an edit waits for the post it edits.
    public var edits: String?
    /// Slack: the `ts` of the message this one posted, once delivered (what later edits name).
    public var postedTS: String?
    /// Messages of one topic (an invocation's progress) replace each other: a pending one is superseded by a
    /// newer one of the same invocation and topic, so a busy agent edits the thread's message, not floods it.
    public var topic: String?

    public static let maxAttempts = 8

    public init(invocation: String, kind: String, url: String, body: String, credential: String? = nil, at: Date) {
        let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        id = "out_" + String(repeating: "0", count: 16 - hex.count) + hex
        self.invocation = invocation
        self.kind = kind
        self.url = url
        self.body = body
        self.credential = credential
        status = .pending
        attempts = 0
        nextAttemptAt = at
        createdAt = at
    }

    /// The wait before attempt `attempts + 1`: 2 s doubling to at most 10 minutes.
    public static func backoff(afterAttempts attempts: Int) -> TimeInterval {
        min(600, 2 * pow(2, Double(max(0, attempts - 1))))
    }
}
