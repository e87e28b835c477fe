import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockCore
import PaddockStore
import PaddockTestSupport
import Testing

@testable import PaddockServices

/// Slack's interactive side: an approval the run asks for is posted to the thread with Approve/Deny buttons, a
/// click answers it as the linked person only if they hold `approve`, and the message is edited to say who
/// decided; slash commands answer through their `response_url`; progress edits one message in place.
extension AutomationTests {
    static func formHeaders(_ body: String, at time: Date) -> HTTPFields {
        var fields = slackHeaders(body, at: time)
        fields[.contentType] = "application/x-www-form-urlencoded"
        return fields
    }

    static func form(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $1)" }
            .joined(separator: "&")
    }

    /// A `block_actions` payload as Slack sends it for a click on one of our buttons.
    static func click(_ action: String, approval: String, user: String, responseURL: String) -> String {
        let payload =
            #"{"type":"block_actions","user":{"id":"\#(user)","username":"someone","team_id":"T1"},"#
            + #""api_app_id":"A1","container":{"type":"message","message_ts":"1700000000.000200","channel_id":"C1"},"#
            + #""channel":{"id":"C1","name":"ops"},"response_url":"\#(responseURL)","#
            + #""actions":[{"type":"button","action_id":"\#(action)","block_id":"paddock_approval","#
            + #""value":"\#(approval)","action_ts":"1700000001.000300"}]}"#
        return form([("payload", payload)])
    }

    @Test func anApprovalIsPostedWithButtonsAndAClickAnswersAsTheLinkedPerson() async throws {
        try await Self.withChat("buttons") { s, standIn, client in
            let (automation, _) = try await s.automations.create(
                Self.spec(.slack, prompt: "{{event.text}}"), by: Self.admin)
            try await s.store.insertUser(UserAccount(name: "bob", role: .member, createdAt: Date()))
            for (slack, user) in [("U2CERLKJA", "alice"), ("UBOB", "bob")] {
                try await s.automations.link(provider: "slack", external: slack, user: user, by: Self.admin)
            }
            let mention = Self.mention("EvA", text: "push the fix")
            try await client.execute(
                uri: "/hooks/slack/events", method: .post, headers: Self.slackHeaders(mention, at: s.clock()),
                body: ByteBuffer(string: mention)
            ) { response in #expect(response.status == .ok) }
            try await Self.until("the session started") { !standIn.requests("/chat.postMessage").isEmpty }
            let started = try #require(
                try await s.automations.history(automation.id, for: Self.admin).first?.invocation)
            let session = try #require(started.session)

            // The session's agent asks (as the exec guard would), and waits for a person.
            let approvals = s.sessions.guardrails.approvals
            let asked = Task {
                await approvals.request(
                    session: session, kind: "exec", subject: "git push origin main",
                    rule: "ask by rule 'git push*' (runtime.yml:3:5)")
            }
            defer { asked.cancel() }
            try await Self.until("the approval in the thread") {
                standIn.requests("/chat.postMessage").contains { $0.body.contains(AutomationService.approveAction) }
            }
            let open = try #require(await approvals.open().first)
            let post = try #require(
                standIn.requests("/chat.postMessage").first { $0.body.contains(AutomationService.approveAction) })
            #expect(post.headers["authorization"] == "Bearer xoxb-test-token")
            let json = try JSONDocument.parse(Data(post.body.utf8))
            #expect(json[try JSONPath("channel")] == .string("C1"))
            #expect(json[try JSONPath("thread_ts")] == .string("1700000000.000100"))
            #expect(json[try JSONPath("text")]?.text.contains("git push origin main") == true)
            // Block Kit as Slack documents it: a section, a context, and an actions block with two buttons whose
            // value is the approval.
            guard case .array(let blocks)? = json[try JSONPath("blocks")] else {
                Issue.record("no blocks: \(post.body)")
                return
            }
            #expect(blocks.compactMap { $0[JSONPath(keys: ["type"])]?.text } == ["section", "context", "actions"])
            guard case .array(let buttons)? = blocks[2][JSONPath(keys: ["elements"])] else {
                Issue.record("no buttons: \(post.body)")
                return
            }
            #expect(buttons.count == 2)
            for (button, (action, style, label)) in zip(
                buttons,
                [
                    (AutomationService.approveAction, "primary", "Approve"),
                    (AutomationService.denyAction, "danger", "Deny"),
                ])
            {
                #expect(button[JSONPath(keys: ["type"])] == .string("button"))
                #expect(button[JSONPath(keys: ["action_id"])] == .string(action))
                #expect(button[JSONPath(keys: ["style"])] == .string(style))
                #expect(button[JSONPath(keys: ["value"])] == .string(open.id))
                #expect(button[JSONPath(keys: ["text", "type"])] == .string("plain_text"))
                #expect(button[JSONPath(keys: ["text", "text"])] == .string(label))
            }

            let responseURL = standIn.base + "/slack-hooks/actions/T1/5678/secretpart"
            func send(_ body: String, secret: String = Self.slackSecret) async throws -> HTTPResponse.Status {
                var headers = Self.slackHeaders(body, at: s.clock(), secret: secret)
                headers[.contentType] = "application/x-www-form-urlencoded"
                return try await client.execute(
                    uri: "/hooks/slack/interactive", method: .post, headers: headers, body: ByteBuffer(string: body)
                ) { $0.status }
            }
            // Unsigned: 401, and nothing answered.
            #expect(
                try await send(
                    Self.click(AutomationService.approveAction, approval: open.id, user: "U2CERLKJA", responseURL: ""),
                    secret: "wrong") == .unauthorized)
            // An unlinked Slack user, then bob (linked, but without approve on team a): told privately, not taken.
            #expect(
                try await send(
                    Self.click(
                        AutomationService.approveAction, approval: open.id, user: "UNOBODY", responseURL: responseURL))
                    == .ok)
            #expect(
                try await send(
                    Self.click(
                        AutomationService.approveAction, approval: open.id, user: "UBOB", responseURL: responseURL))
                    == .ok)
            try await Self.until("two private refusals") { standIn.requests("/actions/T1/5678/secretpart").count >= 2 }
            let refusals = standIn.requests("/actions/T1/5678/secretpart")
            for refusal in refusals {
                #expect(refusal.headers["authorization"] == nil)  // a response_url carries its own credential
                let body = try JSONDocument.parse(Data(refusal.body.utf8))
                #expect(body[try JSONPath("response_type")] == .string("ephemeral"))
                #expect(body[try JSONPath("replace_original")] == .bool(false))
            }
            #expect(refusals[0].body.contains("not linked") && refusals[0].body.contains("ada"), "\(refusals[0].body)")
            #expect(refusals[1].body.contains("do not hold approve on team a"), "\(refusals[1].body)")
            #expect(await approvals.open().map(\.id) == [open.id])

            // Alice holds approve on team a: her Deny is the answer, and the thread's message says so.
            #expect(
                try await send(
                    Self.click(
                        AutomationService.denyAction, approval: open.id, user: "U2CERLKJA", responseURL: responseURL))
                    == .ok)
            let answer = await asked.value
            #expect(answer.state == .denied && answer.decidedBy == "alice")
            try await Self.until("the message edited") { !standIn.requests("/chat.update").isEmpty }
            let edit = try #require(standIn.requests("/chat.update").first)
            #expect(edit.headers["authorization"] == "Bearer xoxb-test-token")
            let edited = try JSONDocument.parse(Data(edit.body.utf8))
            #expect(edited[try JSONPath("channel")] == .string("C1"))
            // The ts Slack answered the post with.
            #expect(edited[try JSONPath("ts")] == .string("1700000000.000200"))
            #expect(edited[try JSONPath("text")] == .string("Denied by alice."))
            #expect(!edit.body.contains(AutomationService.approveAction))  // the buttons are gone
            // Recorded in the session's trail as alice, acting through Slack.
            let trail = try await #require(s.sessions.audit).events(session: session)
            let recorded = try #require(trail.first { $0.kind == "approval.answer" })
            #expect(recorded.actor == AuditActor(user: "alice", token: "slack:U2CERLKJA"))
        }
    }

    @Test func aSlashCommandAnswersThroughItsResponseURL() async throws {
        try await Self.withChat("command") { s, standIn, client in
            let (automation, _) = try await s.automations.create(
                Self.spec(.slack, prompt: "{{event.text}}"), by: Self.admin)
            try await s.automations.link(provider: "slack", external: "U2CERLKJA", user: "alice", by: Self.admin)
            let responseURL = standIn.base + "/slack-hooks/commands/T1/1234/secretpart"
            let body = Self.form([
                ("token", "legacy"), ("team_id", "T1"), ("channel_id", "C1"), ("user_id", "U2CERLKJA"),
                ("command", "/paddock"), ("text", "bump the dependencies"), ("response_url", responseURL),
                ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
            ])
            try await client.execute(
                uri: "/hooks/slack/commands", method: .post, headers: Self.formHeaders(body, at: s.clock()),
                body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .ok)
                #expect(response.text.contains("ephemeral"))
            }
            try await Self.until("the start and the outcome") {
                standIn.requests("/commands/T1/1234/secretpart").count >= 2
            }
            let answers = standIn.requests("/commands/T1/1234/secretpart")
            for answer in answers {
                #expect(answer.method == "POST" && answer.headers["authorization"] == nil)
                #expect(answer.headers["content-type"]?.hasPrefix("application/json") == true)
                let json = try JSONDocument.parse(Data(answer.body.utf8))
                #expect(json[try JSONPath("response_type")] == .string("in_channel"))
            }
            try #require(answers.count >= 2, "the slash command was answered \(answers.count) time(s)")
            #expect(answers[0].body.contains("Working on it") && answers[1].body.contains("Finished (completed)"))
            #expect(standIn.requests("/chat.postMessage").isEmpty)
            // The history names where the answers went without the URL, which lets anyone post in the channel.
            let history = try await s.automations.history(automation.id, for: Self.admin)
            let outbox = try #require(history.first?.outbox)
            #expect(outbox.count == 2 && outbox.allSatisfy { !$0.url.contains("secretpart") })
        }
    }

    @Test func progressEditsTheThreadsPostAndOnlyTheNewestOfABurstIsSent() async throws {
        try await Self.withChat("progress") { s, standIn, _ in
            let (automation, _) = try await s.automations.create(
                Self.spec(.slack, prompt: "{{event.text}}"), by: Self.admin)
            var invocation = Invocation(
                automation: automation.id, receivedAt: s.clock(), dedupeKey: "k", trigger: "slack",
                event: .object([:]))
            invocation.decision = .started
            // Finished, so the service's pickup of unfinished invocations (at its start) leaves it alone.
            invocation.finishedAt = s.clock()
            invocation.reply = ReplyTarget(kind: "slack", channel: "C1", thread: "1700000000.000100")
            invocation = try await s.store.insertInvocation(invocation)
            // The post and three progress edits queued at once (one transaction, so the outbox sees all four
            // together): the post goes out, then one edit (the newest), with the post's ts.
            let reply = try #require(invocation.reply)
            let post = try #require(try await s.automations.replyMessage(invocation, to: reply, final: false))
            var queued = [post]
            for step in 1...3 {
                queued.append(
                    try #require(
                        await s.automations.progressMessage(invocation, post: post.id, steps: step, tool: "Bash")))
            }
            try await s.store.updateInvocation(invocation, queueing: queued)
            s.automations.wakeup.signal()
            try await Self.until("the edit") { !standIn.requests("/chat.update").isEmpty }
            let edits = standIn.requests("/chat.update")
            #expect(edits.count == 1)
            let json = try JSONDocument.parse(Data(try #require(edits.first).body.utf8))
            #expect(json[try JSONPath("ts")] == .string("1700000000.000200"))
            #expect(json[try JSONPath("text")]?.text.contains("Step 3 (Bash)") == true)
            // The outbox records the delivery just after the stand-in answered.
            let deadline = ContinuousClock.now + AutomationTests.patience
            var outbox = try await s.store.outbox(invocation: invocation.id)
            while outbox.contains(where: { $0.status == .pending }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                outbox = try await s.store.outbox(invocation: invocation.id)
            }
            #expect(outbox.map(\.status) == [.delivered, .superseded, .superseded, .delivered])
        }
    }

    @Test func aSlackUserMapsByAnEmailBothSidesVerified() async throws {
        try await Self.withChat("email") { s, standIn, client in
            let (automation, _) = try await s.automations.create(
                Self.spec(.slack, prompt: "{{event.text}}"), by: Self.admin)
            try await s.store.setVerifiedEmail(user: "alice", email: "alice@example.com")
            // Slack confirmed UMAIL's address: they act as alice. UUNCONFIRMED has the same address unconfirmed:
            // refused as unlinked.
            for (event, user) in [("EvM1", "UMAIL"), ("EvM2", "UUNCONFIRMED")] {
                let mention = Self.mention(event, text: "tidy the README", user: user)
                try await client.execute(
                    uri: "/hooks/slack/events", method: .post, headers: Self.slackHeaders(mention, at: s.clock()),
                    body: ByteBuffer(string: mention)
                ) { response in #expect(response.status == .ok) }
            }
            try await Self.until("both answered") { standIn.requests("/chat.postMessage").count >= 3 }
            let lookups = standIn.requests("/users.info")
            #expect(lookups.count == 2 && lookups.allSatisfy { $0.method == "GET" })
            #expect(lookups.allSatisfy { $0.headers["authorization"] == "Bearer xoxb-test-token" })
            let history = try await s.automations.history(automation.id, for: Self.admin).map(\.invocation)
            let started = try #require(history.first { $0.human?.hasPrefix("slack:UMAIL") == true })
            #expect(started.decision == .started && started.actAs == "alice")
            let refused = try #require(history.first { $0.human?.hasPrefix("slack:UUNCONFIRMED") == true })
            #expect(refused.decision == .refused && refused.reason?.contains("not linked") == true)
        }
    }

    /// An outcome and the replies it queues are one transaction: when queueing fails, the outcome is not stored
    /// either (so the restart follows the run again and reports it then), and the reverse never happens.
    @Test func anOutcomeIsNeverStoredWithoutItsReply() async throws {
        try await Self.withChat("one-transaction") { s, _, _ in
            let (automation, _) = try await s.automations.create(
                Self.spec(.slack, prompt: "{{event.text}}"), by: Self.admin)
            var invocation = Invocation(
                automation: automation.id, receivedAt: s.clock(), dedupeKey: "t", trigger: "slack",
                event: .object([:]))
            // Finished already (failed), so the service's pickup at its start leaves it to this test.
            invocation.decision = .failed
            invocation = try await s.store.insertInvocation(invocation)
            var finished = invocation
            finished.outcome = "completed"
            finished.finishedAt = s.clock()
            let good = OutboxMessage(
                invocation: invocation.id, kind: "webhook", url: "http://127.0.0.1:9/", body: "{}", at: s.clock())
            // A reply that cannot be stored (its invocation does not exist): the whole change is refused.
            let bad = OutboxMessage(
                invocation: "inv_0000000000000000", kind: "webhook", url: "http://127.0.0.1:9/", body: "{}",
                at: s.clock())
            await #expect(throws: (any Error).self) {
                try await s.store.updateInvocation(finished, queueing: [good, bad])
            }
            #expect(try await s.store.invocation(invocation.id)?.outcome == nil)
            #expect(try await s.store.outbox(invocation: invocation.id).isEmpty)
            try await s.store.updateInvocation(finished, queueing: [good])
            #expect(try await s.store.invocation(invocation.id)?.outcome == "completed")
            #expect(try await s.store.outbox(invocation: invocation.id).map(\.id) == [good.id])
        }
    }
}
