import Foundation
import PaddockCore
import PaddockStore

extension AutomationService {
    // MARK: Reporting the outcome

    /// What the automation's `reportTo` URL receives.
    struct Report: Encodable {
        var automation: String
        var name: String
        var invocation: String
        var decision: String
        var reason: String?
        var session: String?
        var run: String?
        var outcome: String?
    }

    /// What the invocation's people should hear, for the durable outbox: when work starts, a link to the session
    /// in the Slack thread or GitHub issue it came from; when it ends (or was refused), the outcome there and to
    /// the automation's report URL. Filtered and repeated events say nothing.
    func replies(_ invocation: Invocation, _ automation: Automation) throws -> [OutboxMessage] {
        let finalReport = invocation.decision != .started || invocation.finishedAt != nil
        guard invocation.decision != .filtered, invocation.decision != .deduplicated, invocation.decision != .pending
        else { return [] }
        var messages: [OutboxMessage] = []
        if finalReport, let url = automation.spec.reportTo {
            let report = Report(
                automation: automation.id, name: automation.spec.name, invocation: invocation.id,
                decision: invocation.decision.rawValue, reason: invocation.reason,
                session: invocation.session?.rawValue, run: invocation.run, outcome: invocation.outcome)
            messages.append(
                OutboxMessage(
                    invocation: invocation.id, kind: "webhook", url: url,
                    body: String(decoding: try JSONEncoder().encode(report), as: UTF8.self), at: clock()))
        }
        if let reply = invocation.reply, let message = try replyMessage(invocation, to: reply, final: finalReport) {
            messages.append(message)
        }
        return messages
    }

    /// Stores the invocation's new state and queues what it calls for people to hear in one transaction: an
    /// outcome is never stored without its reply, nor a reply queued about an outcome that was not stored.
    /// The thread's "working on it" post is remembered on the invocation, for progress to edit.
    func save(_ invocation: inout Invocation, _ automation: Automation) async throws {
        let messages = try replies(invocation, automation)
        if invocation.decision == .started, invocation.finishedAt == nil,
            let post = messages.first(where: { $0.kind == "slack" })
        {
            invocation.progressPost = post.id
        }
        try await store.updateInvocation(invocation, queueing: messages)
        if !messages.isEmpty { wakeup.signal() }
    }

    /// The text people read about an invocation, with links to the session, its changes and its review.
    func replyText(_ invocation: Invocation, final: Bool) -> String {
        let base = integrations.publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        let link = invocation.session.map { id in base.map { "\($0)/sessions/\(id)" } ?? "session \(id)" }
        switch invocation.decision {
        case .started where !final:
            return "Working on it in \(link ?? "a new session")."
        case .started:
            var text = "Finished (\(invocation.outcome ?? "unknown"))"
            if let reason = invocation.reason, invocation.outcome != Run.Status.completed.rawValue {
                text += ": \(reason)"
            }
            if let base, let session = invocation.session {
                text += ".\nSession: \(base)/sessions/\(session)\nChanges: \(base)/sessions/\(session)/changes"
                text += "\nReview: `paddock submit \(session)` or Submit for review on the changes page"
            } else if let link {
                text += " in \(link)."
            }
            return text
        default:
            return "Nothing was started: \(invocation.reason ?? invocation.decision.rawValue)"
        }
    }

    /// Sends every outbox message that is due; a failed one waits longer each time and gives up after
    /// `OutboxMessage.maxAttempts`. Returns when the next one is due.
    func deliverDue() async -> Date? {
        let messages: [OutboxMessage]
        do { messages = try await store.pendingOutbox() } catch {
            logger.error("the outbox could not be read", metadata: ["error": "\(error)"])
            return clock().addingTimeInterval(30)
        }
        var next: Date?
        for (index, original) in messages.enumerated() {
            var message = original
            let now = clock()
            guard message.nextAttemptAt <= now else {
                next = min(next ?? message.nextAttemptAt, message.nextAttemptAt)
                continue
            }
            // A newer message of the same topic makes this one pointless (an older progress edit).
            if let topic = message.topic,
                messages[(index + 1)...].contains(where: {
                    $0.invocation == message.invocation && $0.topic == topic && $0.createdAt >= message.createdAt
                })
            {
                message.status = .superseded
                await keep(message)
                continue
            }
            if let edited = message.edits {
                switch await postedTS(edited, invocation: message.invocation) {
                case .posted(let ts):
                    do { message.body = try Self.setting("ts", to: ts, in: message.body) } catch {
                        message.status = .failed
                        message.lastError = "the edit could not name the post it edits: \(error)"
                        logger.error(
                            "an outbox edit could not name its post; it is not sent",
                            metadata: ["invocation.id": "\(message.invocation)", "error": "\(error)"])
                        await keep(message)
                        continue
                    }
                case .waiting(let until):
                    // Not an attempt: the post it edits has not gone out yet.
                    next = min(next ?? until, until)
                    continue
                case .never:
                    message.status = .failed
                    message.lastError = "the message it edits was never posted"
                    await keep(message)
                    continue
                }
            }
            message.attempts += 1
            do {
                let bearer = try await credential(message)
                let answer = try await sender.send(url: message.url, body: message.body, bearer: bearer)
                // Slack's Web API answers 200 with {"ok": false, "error": …} when it did not post.
                if message.kind == "slack" {
                    let value = try JSONDocument.parse(answer)
                    guard value[try JSONPath("ok")] == .bool(true) else {
                        throw PaddockError.unavailable(
                            "Slack did not post the message: \(value[try JSONPath("error")]?.text ?? "no reason given")"
                        )
                    }
                    message.postedTS = value[try JSONPath("ts")]?.text
                }
                message.status = .delivered
                message.deliveredAt = clock()
                message.lastError = nil
            } catch {
                message.lastError = error.automationError.message
                if message.attempts >= OutboxMessage.maxAttempts {
                    message.status = .failed
                    logger.warning(
                        "an outbox message gave up",
                        metadata: ["outbox.id": "\(message.id)", "attempts": "\(message.attempts)"])
                } else {
                    message.nextAttemptAt = clock().addingTimeInterval(
                        OutboxMessage.backoff(afterAttempts: message.attempts))
                    next = min(next ?? message.nextAttemptAt, message.nextAttemptAt)
                }
            }
            if Task.isCancelled {
                await keep(message)
                return next  // the server is stopping: an unsent message is sent again at the next start
            }
            await keep(message)
        }
        return next
    }

    func keep(_ message: OutboxMessage) async {
        let store = store
        do { try await evenWhenCancelled { try await store.updateOutbox(message) } } catch {
            logger.error(
                "an outbox message's state could not be stored",
                metadata: ["outbox.id": "\(message.id)", "error": "\(error)"])
        }
    }

    enum EditedPost {
        case posted(String)
        case waiting(until: Date)
        case never
    }

    /// Where the post an edit names stands: sent (with its `ts`), still to be sent, or given up.
    func postedTS(_ id: String, invocation: String) async -> EditedPost {
        do {
            guard let post = try await store.outbox(invocation: invocation).first(where: { $0.id == id }) else {
                return .never
            }
            switch post.status {
            case .delivered: return post.postedTS.map { .posted($0) } ?? .never
            case .pending: return .waiting(until: max(post.nextAttemptAt, clock()).addingTimeInterval(0.05))
            case .failed, .superseded: return .never
            }
        } catch {
            logger.error("an outbox message's post could not be read", metadata: ["error": "\(error)"])
            return .waiting(until: clock().addingTimeInterval(30))
        }
    }

    /// The JSON body with one more top-level field (an edit's `ts`). The body is our own JSON object text; one that is
    /// not cannot say which post it edits, so it throws rather than send something else.
    static func setting(_ key: String, to value: String, in body: String) throws -> String {
        guard case .object(var fields) = try JSONDocument.parse(Data(body.utf8)) else {
            throw PaddockError.internal("the message's body is not a JSON object")
        }
        fields[key] = .string(value)
        return JSONDocument.object(fields).jsonText
    }

    /// The bearer token a message is sent with: its vault secret, read when sending so it is never stored twice.
    func credential(_ message: OutboxMessage) async throws -> String? {
        guard let name = message.credential else { return nil }
        return try await secretValue(name)
    }

    /// An org-wide vault secret's value (the Slack app's, GitHub's).
    /// The vault: the projects' one, else the network's; nil on a server without one.
    func vault() async -> SecretVault? {
        if let vault = projects.vault { return vault }
        return await sessions.network?.vault
    }

    func secretValue(_ name: String) async throws -> String {
        guard let vault = await vault() else {
            throw PaddockError.unavailable("this server has no vault to read \(name) from")
        }
        return try await vault.open(name: name, team: nil).value
    }

    // MARK: The clock

    /// Fires due schedule ticks and sends due outbox messages, then sleeps until the next is due, at most a
    /// minute (a cron tick is a minute), or until something new is queued.
    func timerLoop() async {
        while !Task.isCancelled {
            let nextTick = await fireDueSchedules()
            let nextDelivery = await deliverDue()
            let now = clock()
            let due = [nextTick, nextDelivery, now.addingTimeInterval(60)].compactMap { $0 }.min() ?? now
            // Sleeping on the clock is the point here (a schedule, a backoff); something queued sooner wakes
            // the loop early.
            await wakeup.wait(upTo: max(0.05, due.timeIntervalSince(now)))
        }
    }
}
