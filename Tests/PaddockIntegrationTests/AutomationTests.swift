import Crypto
import Foundation
import Logging
import PaddockCore
import PaddockStore
import PaddockTestSupport
import Synchronization
import Testing

@testable import PaddockServices

/// Automations without root: durable delivery (stored before the acknowledgement, processed from the store,
/// picked up after a restart, replays start nothing), filters, prompt filling, rate limits, pausing itself after
/// failures, who may create and run them, webhook signatures, schedules and the outbox. A real SQLite store in
/// memory, the fake provider, command agents and a real git origin.
@Suite struct AutomationTests {
    /// A clock tests move by hand.
    final class TestClock: Sendable {
        private let now: Mutex<Date>
        init(_ start: Date) { now = Mutex(start) }
        func callAsFunction() -> Date { now.withLock { $0 } }
        func set(_ date: Date) { now.withLock { $0 = date } }
        func advance(_ seconds: TimeInterval) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    /// Records what the outbox sends, failing the first `failures` attempts.
    final class RecordingSender: OutboxSender {
        struct Sent: Sendable {
            var url: String
            var body: String
            var bearer: String?
        }
        let sent = Mutex<[Sent]>([])
        let failures: Mutex<Int>
        init(failures: Int = 0) { self.failures = Mutex(failures) }

        func send(url: String, body: String, bearer: String?) async throws -> Data {
            let fail = failures.withLock { n -> Bool in
                guard n > 0 else { return false }
                n -= 1
                return true
            }
            if fail { throw PaddockError.unavailable("the receiver is down (test)") }
            sent.withLock { $0.append(Sent(url: url, body: body, bearer: bearer)) }
            return Data(#"{"ok":true}"#.utf8)
        }

        func get(url: String, bearer: String?) async throws -> Data {
            throw PaddockError.unavailable("no GET in this test")
        }
    }

    struct Stack: Sendable {
        let store: SQLiteStore
        let fake: FakeProvider
        let sessions: SessionService
        let runs: RunService
        let projects: ProjectService
        let automations: AutomationService
        let clock: TestClock
        let sender: RecordingSender
        let origin: String

        /// Polls the store until `condition` holds for the invocation (an agent run is a background process).
        func invocation(_ id: String, until condition: (Invocation) -> Bool) async throws -> Invocation {
            let deadline = ContinuousClock.now + AutomationTests.patience
            while true {
                let found = try #require(try await store.invocation(id))
                if condition(found) { return found }
                guard ContinuousClock.now < deadline else {
                    Issue.record("invocation \(id) never got there: \(found)")
                    return found
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        func finished(_ id: String) async throws -> Invocation {
            try await invocation(id) { $0.decision != .pending && ($0.decision != .started || $0.finishedAt != nil) }
        }
    }

    /// How long a test waits for background work (an agent run, an outbox send). Generous: in the full suite on
    /// two cores, runs that take a second alone waited more than a minute for a thread.
    static let patience = Duration.seconds(240)

    static let admin = Caller(
        Principal(user: "ada", role: .admin, tokenID: "tok-ada", scopes: Role.admin.ceiling, teams: [:]))
    static let alice = Caller(
        Principal(
            user: "alice", role: .member, tokenID: "tok-alice", scopes: Role.member.ceiling,
            teams: ["a": TeamRecord.defaultPermissions]))
    static let bob = Caller(
        Principal(
            user: "bob", role: .member, tokenID: "tok-bob", scopes: Role.member.ceiling,
            teams: ["b": TeamRecord.defaultPermissions]))

    /// Users alice (team a), bob (team b) and vic (a viewer in team a); project `web` open to team a with the
    /// `echo` agent (the default) and `fail` (exits 1).
    static func withStack(
        _ label: String, sender: RecordingSender = RecordingSender(), running: Bool = true,
        _ body: @Sendable (Stack) async throws -> Void
    ) async throws {
        let origin = try GitFixture.make("automation-\(label)", files: ["README.md": "hello\n"])
        defer { origin.remove() }
        let dir = TestHost.makeDataDirectory("automation-\(label)")
        defer { TestHost.removeDataDirectory(dir) }
        let store = try SQLiteStore.inMemory()
        let fake = FakeProvider()
        let sessions = SessionService(store: store, providers: ["local": fake], logger: TestHost.quietLogger(label))
        await sessions.setRepositories(try RepositoryClones(root: dir + "/repos"))
        for team in ["a", "b"] {
            try await store.insertTeam(
                TeamRecord(name: team, permissions: TeamRecord.defaultPermissions, members: [], createdAt: Date()))
        }
        for (user, role, team) in [("alice", Role.member, "a"), ("bob", .member, "b"), ("vic", .viewer, "a")] {
            try await store.insertUser(UserAccount(name: user, role: role, createdAt: Date()))
            try await store.setMembership(team: team, user: user, member: true)
        }
        let runs = RunService(
            sessions: sessions, store: store, teams: store,
            configuration: RunConfiguration(
                agents: [
                    AgentDefinition(name: "echo", kind: .command, argv: ["echo", "{prompt}"]),
                    AgentDefinition(name: "fail", kind: .command, argv: ["false"]),
                ], defaultAgent: "echo"),
            logger: TestHost.quietLogger(label))
        let projects = ProjectService(sessions: sessions, runs: runs)
        _ = try await projects.add(ProjectSpec(name: "web", repository: origin.origin, teams: ["a"]), by: admin)
        let clock = TestClock(Date())
        let automations = try AutomationService(
            projects: projects, logger: TestHost.quietLogger(label), sender: sender, clock: { clock() })
        let stack = Stack(
            store: store, fake: fake, sessions: sessions, runs: runs, projects: projects, automations: automations,
            clock: clock, sender: sender, origin: origin.origin)
        try await withRunning(runs) {
            if running {
                try await withRunning(automations) { try await body(stack) }
            } else {
                try await body(stack)
            }
        }
        for session in try await sessions.list(includeEnded: false) { _ = try await sessions.destroy(session.id) }
    }

    static func spec(
        _ source: AutomationSource = .webhook, prompt: String = "Fix: {{event.text}}", agent: String? = nil,
        filter: [AutomationFilter] = [], rate: RateLimit = .default
    ) -> AutomationSpec {
        AutomationSpec(
            name: "triage", team: "a", source: source, filter: filter, project: "web", agent: agent, prompt: prompt,
            runAs: "alice", rateLimit: rate)
    }

    static func code(_ body: () async throws -> Void) async -> (PaddockError.Code?, String) {
        do { try await body() } catch let e as PaddockError { return (e.code, e.message) } catch {
            return (nil, "\(error)")
        }
        return (nil, "no error")
    }

    // MARK: Delivery

    @Test func anEventStartsWorkAsTheRunAsPersonAndAReplayStartsNothing() async throws {
        try await Self.withStack("start") { s in
            let (automation, secret) = try await s.automations.create(Self.spec(), by: Self.alice)
            #expect(secret?.hasPrefix("whsec_") == true)
            let event = JSONDocument.object(["text": .string("the login page is blank"), "token": .string("sekret")])
            let first = try await s.automations.receive(
                event, automation: automation.id, dedupeKey: "k1", trigger: "webhook")
            #expect(first.decision == .pending)
            let done = try await s.finished(first.id)
            #expect(done.decision == .started && done.outcome == "completed", "\(done)")
            #expect(done.prompt == "Fix: the login page is blank")
            #expect(!done.event.contains("sekret"))
            let session = try await s.sessions.get(try #require(done.session))
            #expect(session.createdBy == "alice" && session.team == "a" && session.spec.project == "web")
            // The session's trail names the person and, where a token would be, the automation.
            let created = try await #require(s.sessions.audit).events(session: session.id).first {
                $0.kind == "session.create"
            }
            #expect(created?.actor.user == "alice" && created?.actor.token == "automation:\(automation.id)")
            // The same key again: recorded as a repeat, nothing started.
            let replay = try await s.automations.receive(
                event, automation: automation.id, dedupeKey: "k1", trigger: "webhook")
            #expect(replay.decision == .deduplicated && replay.duplicateOf == first.id)
            #expect(try await s.sessions.list(includeEnded: true).count == 1)
            let history = try await s.automations.history(automation.id, for: Self.alice)
            #expect(history.map(\.invocation.decision) == [.deduplicated, .started])
            // The org trail has the invocation with the decision and the person.
            let org = try await #require(s.sessions.audit).events(session: .organization)
            let invoked = org.first { $0.kind == "automation.invoke" }
            #expect(invoked?.fields["run_as"] == .string("alice") && invoked?.fields["decision"] == .string("started"))
        }
    }

    @Test func whatWasStoredBeforeACrashRunsOnceAfterTheRestart() async throws {
        try await Self.withStack("recover", running: false) { s in
            let (automation, _) = try await s.automations.create(Self.spec(), by: Self.alice)
            // Acknowledged (stored) while the service was not running, as if it died right after the ack.
            let stored = try await s.store.insertInvocation(
                Invocation(
                    automation: automation.id, receivedAt: Date(), dedupeKey: "crash", trigger: "webhook",
                    event: .object(["text": .string("after the crash")])))
            // One whose session was started before the crash but never recorded as started: adopted, not rerun.
            let half = try await s.store.insertInvocation(
                Invocation(
                    automation: automation.id, receivedAt: Date(), dedupeKey: "half", trigger: "webhook",
                    event: .object(["text": .string("half way")])))
            let launch = try await s.projects.launch("web", team: "a", by: Self.alice)
            var spec = launch.spec
            spec.name = half.sessionName
            let early = try await s.sessions.create(spec, policy: launch.policy, owner: launch.owner, by: Self.alice)
            // The restart: the service picks both up.
            try await withRunning(s.automations) {
                let done = try await s.finished(stored.id)
                #expect(done.decision == .started && done.prompt == "Fix: after the crash")
                let adopted = try await s.invocation(half.id) { $0.decision == .started }
                #expect(adopted.session == early.id)
            }
            // Exactly two sessions: one per invocation.
            #expect(try await s.sessions.list(includeEnded: true).count == 2)
            // A second restart finds nothing left to do.
            #expect(try await s.store.unfinishedInvocations().allSatisfy { $0.id == half.id })
        }
    }

    @Test func filtersPausesAndRateLimitsAreRecordedAndStartNothing() async throws {
        try await Self.withStack("decisions") { s in
            let (automation, _) = try await s.automations.create(
                Self.spec(
                    filter: [try AutomationFilter(parsing: "event.kind=alert")], rate: RateLimit(count: 1, window: 3600)
                ),
                by: Self.alice)
            let filtered = try await s.automations.receive(
                .object(["kind": .string("note"), "text": .string("x")]), automation: automation.id, dedupeKey: "1",
                trigger: "webhook")
            #expect(try await s.finished(filtered.id).decision == .filtered)
            let ok = try await s.automations.receive(
                .object(["kind": .string("alert"), "text": .string("x")]), automation: automation.id, dedupeKey: "2",
                trigger: "webhook")
            #expect(try await s.finished(ok.id).decision == .started)
            let limited = try await s.automations.receive(
                .object(["kind": .string("alert"), "text": .string("y")]), automation: automation.id, dedupeKey: "3",
                trigger: "webhook")
            let refused = try await s.finished(limited.id)
            #expect(refused.decision == .refused && refused.reason?.contains("rate limit") == true, "\(refused)")
            _ = try await s.automations.setPaused(automation.id, true, reason: "maintenance", by: Self.alice)
            let paused = try await s.automations.receive(
                .object(["kind": .string("alert")]), automation: automation.id, dedupeKey: "4", trigger: "webhook")
            let pausedDone = try await s.finished(paused.id)
            #expect(pausedDone.decision == .refused && pausedDone.reason?.contains("maintenance") == true)
            #expect(try await s.sessions.list(includeEnded: true).count == 1)
            // None of those counts as a failure of the automation.
            #expect(try await s.store.automation(automation.id)?.consecutiveFailures == 0)
        }
    }

    @Test func anAutomationPausesItselfAfterFailuresInARow() async throws {
        try await Self.withStack("autopause") { s in
            var spec = Self.spec()
            spec.maxConsecutiveFailures = 2
            let (automation, _) = try await s.automations.create(spec, by: Self.alice)
            // The team's budget is spent: the server refuses every start, as it would for the person.
            try await s.store.setBudget(team: "a", monthlyUSD: 0)
            for key in ["1", "2"] {
                let i = try await s.automations.receive(
                    .object(["text": .string(key)]), automation: automation.id, dedupeKey: key, trigger: "webhook")
                let done = try await s.finished(i.id)
                #expect(done.decision == .refused && done.reason?.contains("budget") == true, "\(done)")
            }
            // The count is kept just after the invocation is recorded.
            var paused = try #require(try await s.store.automation(automation.id))
            let deadline = ContinuousClock.now + AutomationTests.patience
            while !paused.paused, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                paused = try #require(try await s.store.automation(automation.id))
            }
            #expect(paused.paused && paused.pausedReason?.contains("2 failures in a row") == true, "\(paused)")
            #expect(paused.pausedReason?.contains("budget") == true)
            let org = try await #require(s.sessions.audit).events(session: .organization)
            #expect(org.contains { $0.kind == "automation.pause" && $0.actor.user == "system" })
            let third = try await s.automations.receive(
                .object(["text": .string("3")]), automation: automation.id, dedupeKey: "3", trigger: "webhook")
            let refused = try await s.finished(third.id)
            #expect(refused.decision == .refused && refused.reason?.contains("paused") == true, "\(refused)")
            #expect(try await s.sessions.list(includeEnded: false).isEmpty)
            // Resuming clears the count.
            let resumed = try await s.automations.setPaused(automation.id, false, by: Self.alice)
            #expect(!resumed.paused && resumed.consecutiveFailures == 0)
        }
    }

    @Test func aTriggerNeverHasMoreThanItsPerson() async throws {
        try await Self.withStack("authority") { s in
            // A member cannot make an automation run as someone else, nor for a team they are not in.
            var spec = Self.spec()
            spec.runAs = "bob"
            var (code, message) = await Self.code { _ = try await s.automations.create(spec, by: Self.alice) }
            #expect(code == .permissionDenied && message.contains("runs as you"), "\(message)")
            (code, _) = await Self.code { _ = try await s.automations.create(Self.spec(), by: Self.bob) }
            #expect(code == .notFound)
            // An admin can, but the person must be able to start the project: bob's team may not.
            (code, message) = await Self.code { _ = try await s.automations.create(spec, by: Self.admin) }
            #expect(code == .notFound || code == .permissionDenied, "\(message)")
            // A viewer cannot start work: creating one that runs as vic is refused.
            spec.runAs = "vic"
            (code, _) = await Self.code { _ = try await s.automations.create(spec, by: Self.admin) }
            #expect(code == .permissionDenied)
            // Once alice leaves the team, her automation's events are refused and say why.
            let (automation, _) = try await s.automations.create(Self.spec(), by: Self.alice)
            try await s.store.setMembership(team: "a", user: "alice", member: false)
            let i = try await s.automations.receive(
                .object(["text": .string("x")]), automation: automation.id, dedupeKey: "1", trigger: "webhook")
            let done = try await s.finished(i.id)
            #expect(done.decision == .refused, "\(done)")
            #expect(try await s.sessions.list(includeEnded: true).isEmpty)
            // Bob cannot see alice's team's automation at all.
            (code, _) = await Self.code { _ = try await s.automations.get(automation.id, for: Self.bob) }
            #expect(code == .notFound)
            #expect(try await s.automations.list(for: Self.bob).isEmpty)
        }
    }

    @Test func aDryRunShowsThePromptAndDecisionAndStartsNothing() async throws {
        try await Self.withStack("dryrun") { s in
            let (automation, _) = try await s.automations.create(
                Self.spec(prompt: "Look at {{payload.alert.title}} ({{payload.alert.id}})"), by: Self.alice)
            let decision = try await s.automations.test(
                automation.id, event: .object(["alert": .object(["title": .string("disk full")])]), by: Self.alice)
            #expect(decision.decision == .started && decision.prompt == "Look at disk full ()")
            #expect(decision.missing == ["payload.alert.id"])
            #expect(try await s.automations.history(automation.id, for: Self.alice).isEmpty)
            #expect(try await s.sessions.list(includeEnded: true).isEmpty)
        }
    }

    // MARK: Webhooks

    static func signed(_ body: String, secret: String, at time: Date) -> WebhookRequest {
        let stamp = String(Int(time.timeIntervalSince1970))
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data("\(stamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return WebhookRequest(
            body: Data(body.utf8),
            headers: [
                "X-Paddock-Timestamp": stamp,
                "X-Paddock-Signature": "sha256=" + mac.map { String(format: "%02x", $0) }.joined(),
            ])
    }

    @Test func webhooksMustCarryTheSecretOrASignatureOfTheBody() async throws {
        try await Self.withStack("hooks", running: false) { s in
            var spec = Self.spec()
            spec.idempotencyKey = "json:id"
            let (automation, created) = try await s.automations.create(spec, by: Self.alice)
            let secret = try #require(created)
            let body = #"{"id":"evt-1","text":"hello"}"#
            // Bearer.
            let viaBearer = try await s.automations.receiveWebhook(
                automation.id, WebhookRequest(body: Data(body.utf8), headers: ["Authorization": "Bearer \(secret)"]))
            #expect(viaBearer.dedupeKey == "json:evt-1")
            // HMAC of timestamp.body; the same id again is a repeat.
            let viaHMAC = try await s.automations.receiveWebhook(
                automation.id, Self.signed(body, secret: secret, at: s.clock()))
            #expect(viaHMAC.decision == .deduplicated)
            // Refused: a wrong secret, a stale or altered signature, nothing at all, another automation's id.
            let bad: [WebhookRequest] = [
                WebhookRequest(body: Data(body.utf8), headers: ["Authorization": "Bearer whsec_wrong"]),
                Self.signed(body, secret: secret, at: s.clock().addingTimeInterval(-600)),
                {
                    var r = Self.signed(body, secret: secret, at: s.clock())
                    r.body = Data(#"{"id":"evt-2","text":"tampered"}"#.utf8)
                    return r
                }(),
                Self.signed(body, secret: "whsec_other", at: s.clock()),
                WebhookRequest(body: Data(body.utf8), headers: [:]),
            ]
            for request in bad {
                let (code, _) = await Self.code { _ = try await s.automations.receiveWebhook(automation.id, request) }
                #expect(code == .unauthenticated)
            }
            let (code, _) = await Self.code {
                _ = try await s.automations.receiveWebhook(
                    Automation.makeID(),
                    WebhookRequest(body: Data(body.utf8), headers: ["Authorization": "Bearer \(secret)"]))
            }
            #expect(code == .unauthenticated)
            // Each refusal is in the org trail, without the secret.
            let org = try await #require(s.sessions.audit).events(session: .organization)
            let refusals = org.filter { $0.kind == "automation.hook_refused" }
            #expect(refusals.count == 5)
            #expect(!"\(refusals)".contains(secret))
            // Only two invocations were stored.
            #expect(try await s.store.invocations(automation: automation.id, limit: 10).count == 2)
            // The status endpoint answers for the automation's own invocations only.
            let status = try await s.automations.hookStatus(
                automation.id, invocation: viaBearer.id,
                WebhookRequest(body: Data(), headers: ["authorization": "Bearer \(secret)"]))
            #expect(status.invocation.id == viaBearer.id)
        }
    }

    // MARK: Schedules and the outbox

    @Test func aScheduleFiresEachTickOnceAcrossRestartsAndClockChanges() async throws {
        try await Self.withStack("cron", running: false) { s in
            let start = ISO8601DateFormatter().date(from: "2026-03-02T09:00:30Z")!
            s.clock.set(start)
            var spec = Self.spec(.schedule, prompt: "Bump the dependencies ({{event.tick}})")
            spec.schedule = "*/5 * * * *"
            let (automation, _) = try await s.automations.create(spec, by: Self.alice)
            // Not due yet: nothing fires; the next tick is 09:05.
            #expect(
                try await s.automations.fireIfDue(automation.id)
                    == ISO8601DateFormatter().date(from: "2026-03-02T09:05:00Z"))
            // Down for 17 minutes: the missed ticks collapse into the latest, 09:15.
            s.clock.set(start.addingTimeInterval(17 * 60))
            _ = try await s.automations.fireIfDue(automation.id)
            _ = try await s.automations.fireIfDue(automation.id)
            var fired = try await s.store.invocations(automation: automation.id, limit: 10)
            #expect(fired.map(\.dedupeKey) == ["tick:2026-03-02T09:15:00Z"])
            // The clock set back ten minutes: 09:10 is not fired again, nor 09:15.
            s.clock.set(start.addingTimeInterval(7 * 60))
            _ = try await s.automations.fireIfDue(automation.id)
            #expect(try await s.store.invocations(automation: automation.id, limit: 10).count == 1)
            // A restart that lost the last tick (stored before it was marked): the key makes it a repeat.
            var record = try #require(try await s.store.automation(automation.id))
            record.lastTick = nil
            try await s.store.updateAutomation(record)
            s.clock.set(start.addingTimeInterval(17 * 60))
            _ = try await s.automations.fireIfDue(automation.id)
            fired = try await s.store.invocations(automation: automation.id, limit: 10)
            #expect(fired.map(\.decision) == [.deduplicated, .pending])
            // The next tick fires once, and the service runs it.
            s.clock.set(start.addingTimeInterval(20 * 60))
            try await withRunning(s.automations) {
                let deadline = ContinuousClock.now + AutomationTests.patience
                while try await s.store.invocations(automation: automation.id, limit: 10).count < 3,
                    ContinuousClock.now < deadline
                {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let latest = try #require(try await s.store.invocations(automation: automation.id, limit: 1).first)
                #expect(latest.dedupeKey == "tick:2026-03-02T09:20:00Z")
                let done = try await s.finished(latest.id)
                #expect(done.prompt == "Bump the dependencies (2026-03-02T09:20:00Z)")
            }
        }
    }

    @Test func theOutcomeGoesOutThroughTheOutboxWithRetries() async throws {
        let sender = RecordingSender(failures: 2)
        try await Self.withStack("outbox", sender: sender) { s in
            var spec = Self.spec()
            spec.reportTo = "https://hooks.example.com/outcome"
            let (automation, _) = try await s.automations.create(spec, by: Self.alice)
            let i = try await s.automations.receive(
                .object(["text": .string("x")]), automation: automation.id, dedupeKey: "1", trigger: "webhook")
            _ = try await s.finished(i.id)
            // The first two attempts fail; each waits longer (the test moves the clock past the backoff).
            let deadline = ContinuousClock.now + AutomationTests.patience
            while sender.sent.withLock({ $0.isEmpty }), ContinuousClock.now < deadline {
                s.clock.advance(30)
                s.automations.wakeup.signal()
                try await Task.sleep(for: .milliseconds(20))
            }
            let sent = try #require(sender.sent.withLock { $0.first })
            #expect(sent.url == "https://hooks.example.com/outcome" && sent.bearer == nil)
            let report = try JSONDocument.parse(Data(sent.body.utf8))
            #expect(report[try JSONPath("invocation")] == .string(i.id))
            #expect(report[try JSONPath("outcome")] == .string("completed"))
            let record = try await s.automations.invocation(i.id, for: Self.alice)
            #expect(record.outbox.count == 1)
            #expect(record.outbox.first?.status == .delivered && record.outbox.first?.attempts == 3)
        }
    }

    @Test func aProjectsRuntimeYmlDefinesItsAutomations() async throws {
        try await Self.withStack("apply") { s in
            func policy(_ entries: String) -> String { "version: 1\nautomations:\n" + entries }
            let nightly =
                "  nightly:\n    source: schedule\n    schedule: '0 3 * * *'\n    prompt: tidy\n    run_as: alice\n    team: a\n"
            let hook =
                "  alerts:\n    source: webhook\n    prompt: 'Fix {{payload.title}}'\n    run_as: alice\n    team: a\n"
            _ = try await s.projects.update("web", ProjectUpdate(policy: policy(nightly + hook)), by: Self.admin)
            // Members may not apply a project's file; admins may.
            let (code, _) = await Self.code { _ = try await s.automations.apply(project: "web", by: Self.alice) }
            #expect(code == .permissionDenied)
            var applied = try await s.automations.apply(project: "web", by: Self.admin)
            #expect(applied.map(\.0.spec.name).sorted() == ["alerts", "nightly"])
            #expect(applied.first { $0.0.spec.name == "alerts" }?.secret?.hasPrefix("whsec_") == true)
            #expect(applied.allSatisfy { $0.0.definedBy == "web" && $0.0.spec.project == "web" })
            let nightlyID = try #require(applied.first { $0.0.spec.name == "nightly" }?.0.id)
            // Applying again changes nothing; a changed entry keeps its id, a removed one goes.
            applied = try await s.automations.apply(project: "web", by: Self.admin)
            #expect(applied.allSatisfy { $0.secret == nil })
            let changed = nightly.replacingOccurrences(of: "0 3", with: "30 4")
            _ = try await s.projects.update("web", ProjectUpdate(policy: policy(changed)), by: Self.admin)
            applied = try await s.automations.apply(project: "web", by: Self.admin)
            #expect(applied.count == 1 && applied[0].0.id == nightlyID && applied[0].0.spec.schedule == "30 4 * * *")
            #expect(try await s.automations.list(for: Self.admin).map(\.spec.name) == ["nightly"])
        }
    }

    // MARK: The worked examples in docs/triggers

    static func example(_ name: String) throws -> Data {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/triggers/\(name)")
        return try Data(contentsOf: docs)
    }

    static func hex(_ mac: some Sequence<UInt8>) -> String { mac.map { String(format: "%02x", $0) }.joined() }

    @Test func pagerDutyAndSentryExamplesStartTheirWork() async throws {
        try await Self.withStack("examples") { s in
            // PagerDuty, as in docs/triggers/README.md: its own signature with the secret it generated.
            let pdSecret = "pd-generated-secret-0123456789"
            var pd = Self.spec(
                prompt: #"PagerDuty incident {{payload.event.data.number}}: "{{payload.event.data.title}}" "#
                    + "({{payload.event.data.urgency}} urgency, {{payload.event.data.html_url}}). Reproduce it.",
                filter: [
                    try AutomationFilter(parsing: "payload.event.event_type=incident.triggered"),
                    try AutomationFilter(parsing: "payload.event.data.service.summary=checkout-api"),
                ])
            pd.signature = "pagerduty"
            pd.idempotencyKey = "json:event.id"
            let (pagerDuty, shown) = try await s.automations.create(pd, secret: pdSecret, by: Self.alice)
            #expect(shown == nil)  // a secret the service made is not shown back
            let pdBody = try Self.example("pagerduty-incident-triggered.json")
            let pdMAC = HMAC<SHA256>.authenticationCode(for: pdBody, using: SymmetricKey(data: Data(pdSecret.utf8)))
            let pdRequest = WebhookRequest(
                body: pdBody, headers: ["X-PagerDuty-Signature": "v1=deadbeef, v1=\(Self.hex(pdMAC))"])
            let incident = try await s.automations.receiveWebhook(pagerDuty.id, pdRequest)
            #expect(incident.dedupeKey == "json:01DEN7Q2ZGLEU5TX9Y4Q8F1ABC")
            let pdDone = try await s.finished(incident.id)
            #expect(pdDone.decision == .started && pdDone.outcome == "completed", "\(pdDone)")
            #expect(
                pdDone.prompt
                    == #"PagerDuty incident 2: "Checkout API: 5xx rate above 2% for 5 minutes" (high urgency, "#
                    + "https://acme.pagerduty.com/incidents/PGR0VU2). Reproduce it.")
            // PagerDuty's retry of the same event.
            #expect(try await s.automations.receiveWebhook(pagerDuty.id, pdRequest).decision == .deduplicated)
            // A signature made with another secret is refused.
            let (code, _) = await Self.code {
                _ = try await s.automations.receiveWebhook(
                    pagerDuty.id, WebhookRequest(body: pdBody, headers: ["X-PagerDuty-Signature": "v1=deadbeef"]))
            }
            #expect(code == .unauthenticated)

            // Sentry: Sentry-Hook-Signature with the integration's client secret.
            let sentrySecret = "sentry-client-secret-abcdef0123"
            var sn = Self.spec(
                prompt: "Sentry: {{payload.data.event.title}} in {{payload.data.event.culprit}} "
                    + "(release {{payload.data.event.release}}).",
                filter: [
                    try AutomationFilter(parsing: "payload.action=triggered"),
                    try AutomationFilter(parsing: "payload.data.event.level=error"),
                ])
            sn.signature = "sentry"
            sn.idempotencyKey = "json:data.event.event_id"
            let (sentry, _) = try await s.automations.create(sn, secret: sentrySecret, by: Self.alice)
            let snBody = try Self.example("sentry-event-alert.json")
            let snMAC = HMAC<SHA256>.authenticationCode(for: snBody, using: SymmetricKey(data: Data(sentrySecret.utf8)))
            let alert = try await s.automations.receiveWebhook(
                sentry.id, WebhookRequest(body: snBody, headers: ["Sentry-Hook-Signature": Self.hex(snMAC)]))
            let snDone = try await s.finished(alert.id)
            #expect(snDone.decision == .started, "\(snDone)")
            #expect(
                snDone.prompt
                    == "Sentry: ZeroDivisionError: division by zero in checkout/views.py in apply_discount "
                    + "(release web@2026.03.02).")
        }
    }
}
