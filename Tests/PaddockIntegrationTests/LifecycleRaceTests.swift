import Foundation
import Logging
import PaddockCore
import PaddockStore
import PaddockTestSupport
import Testing

@testable import PaddockServices

/// Lifecycle operations that overlap, driven deterministically: the fake provider holds one call at a chosen
/// point while the test starts another. No root, no sandboxes, an in-memory store; milliseconds each.
@Suite struct LifecycleRaceTests {
    struct Stack {
        let store: SQLiteStore
        let fake: FakeProvider
        let sessions: SessionService
    }

    static func stack() throws -> Stack {
        let store = try SQLiteStore.inMemory()
        let fake = FakeProvider()
        let sessions = SessionService(
            store: store, providers: ["local": fake],
            logger: Logger(label: "race", factory: { _ in SwiftLogNoOpLogHandler() }))
        return Stack(store: store, fake: fake, sessions: sessions)
    }

    /// Runs of a one-agent configuration whose agent is the command `program` with the prompt as its argument.
    static func runs(_ s: Stack, agent program: String) -> RunService {
        RunService(
            sessions: s.sessions, store: s.store,
            configuration: RunConfiguration(
                agents: [AgentDefinition(name: program, kind: .command, argv: [program, "{prompt}"])],
                defaultAgent: program),
            logger: Logger(label: "race", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// Waits until `condition` holds; a generous deadline, never an assertion on time.
    static func eventually(_ what: String, _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { throw PaddockError(.timeout, "never happened: \(what)") }
            await Task.yield()
        }
    }

    @Test func aDestroyDuringAPauseWaitsAndWins() async throws {
        let s = try Self.stack()
        let session = try await s.sessions.create(SessionSpec())
        let gate = await s.fake.hold(.pause)
        let pausing = Task { try await s.sessions.pause(session.id) }
        await gate.reached()
        let destroying = Task { try await s.sessions.destroy(session.id) }
        // The destroy queues behind the pause instead of running through it.
        try await Self.eventually("the destroy waits for the pause") { s.sessions.lifecycle.waiting(session.id) == 1 }
        #expect(await s.fake.sandboxes.contains(session.id))
        await gate.open()
        #expect(try await pausing.value.state == .paused)
        #expect(try await destroying.value.state == .destroyed)
        // The row says what the provider did last: no `paused` row for a sandbox that no longer exists.
        #expect(try await s.store.session(session.id)?.state == .destroyed)
        #expect(await s.fake.sandboxes.isEmpty)
    }

    @Test func aPauseDuringADestroyIsRefusedNotStored() async throws {
        let s = try Self.stack()
        let session = try await s.sessions.create(SessionSpec())
        let gate = await s.fake.hold(.destroy)
        let destroying = Task { try await s.sessions.destroy(session.id) }
        await gate.reached()
        let pausing = Task { try await s.sessions.pause(session.id) }
        try await Self.eventually("the pause waits for the destroy") { s.sessions.lifecycle.waiting(session.id) == 1 }
        await gate.open()
        #expect(try await destroying.value.state == .destroyed)
        await #expect(throws: PaddockError.self) { try await pausing.value }
        #expect(try await s.store.session(session.id)?.state == .destroyed)
    }

    @Test func aSnapshotHoldsTheSessionAgainstADestroy() async throws {
        let s = try Self.stack()
        let session = try await s.sessions.create(SessionSpec())
        let gate = await s.fake.hold(.snapshot)
        let snapshotting = Task { try await s.sessions.snapshot(session.id, name: "held") }
        await gate.reached()
        let destroying = Task { try await s.sessions.destroy(session.id) }
        try await Self.eventually("the destroy waits for the snapshot") {
            s.sessions.lifecycle.waiting(session.id) == 1
        }
        await gate.open()
        #expect(try await snapshotting.value.session == session.id)
        #expect(try await destroying.value.state == .destroyed)
        #expect(try await s.store.snapshot("held") != nil)
    }

    @Test func concurrentPausesLeaveOnePausedAndOneRefused() async throws {
        let s = try Self.stack()
        let session = try await s.sessions.create(SessionSpec())
        let gate = await s.fake.hold(.pause)
        let first = Task { try await s.sessions.pause(session.id) }
        await gate.reached()
        let second = Task { try await s.sessions.pause(session.id) }
        try await Self.eventually("the second pause waits") { s.sessions.lifecycle.waiting(session.id) == 1 }
        await gate.open()
        #expect(try await first.value.state == .paused)
        // The second sees the paused session it waited behind: pausing a paused session is a transition error.
        let error = await #expect(throws: PaddockError.self) { try await second.value }
        #expect(error?.code == .conflict)
    }

    @Test func aStaleUpdateIsAConflictNotAnOverwrite() async throws {
        let s = try Self.stack()
        let session = try await s.sessions.create(SessionSpec())
        var stale = try #require(try await s.store.session(session.id))
        var current = stale
        current.state = .paused
        try await s.store.updateSession(current, expecting: .running)
        stale.reason = "written from an old read"
        let error = await #expect(throws: PaddockError.self) {
            try await s.store.updateSession(stale, expecting: .running)
        }
        #expect(error?.code == .conflict)
        #expect(try await s.store.session(session.id)?.state == .paused)
        #expect(try await s.store.session(session.id)?.reason == nil)
    }

    @Test func theStateMachineEndToEnd() async throws {
        let s = try Self.stack()
        let session = try await s.sessions.create(SessionSpec())
        #expect(session.state == .running)
        #expect(try await s.sessions.pause(session.id).state == .paused)
        #expect(try await s.sessions.resume(session.id).state == .running)
        // Work sent to a paused session resumes it.
        _ = try await s.sessions.pause(session.id)
        #expect(try await s.sessions.run(session.id, ["true"]).status.code == 0)
        #expect(try await s.sessions.get(session.id).state == .running)
        #expect(try await s.sessions.destroy(session.id).state == .destroyed)
        // Destroying again is a no-op; pausing a destroyed session is refused as gone.
        #expect(try await s.sessions.destroy(session.id).state == .destroyed)
        let error = await #expect(throws: PaddockError.self) { try await s.sessions.pause(session.id) }
        #expect(error?.code == .notFound)
        #expect(await s.fake.sandboxes.isEmpty)
        #expect(s.sessions.lifecycle.isHeld(session.id) == false)
    }

    @Test func twoPromptsRacingForOneSessionStartOneRun() async throws {
        let s = try Self.stack()
        let session = try await s.sessions.create(SessionSpec())
        let runs = Self.runs(s, agent: "echo")
        try await withRunning(runs) {
            async let a = Result(catching: { try await runs.start(session: session.id, prompt: "one") })
            async let b = Result(catching: { try await runs.start(session: session.id, prompt: "two") })
            let results = await [a, b]
            let started = results.compactMap { try? $0.get() }
            let refused = results.compactMap { result -> PaddockError? in
                if case .failure(let e) = result { return e as? PaddockError }
                return nil
            }
            #expect(started.count == 1)
            #expect(refused.map(\.code) == [.conflict])
            for run in started { _ = try await runs.wait(run.id) }
        }
    }

    @Test func aRunGoingWhenTheServerStopsIsRecordedAsEndedByTheStop() async throws {
        let s = try Self.stack()
        let session = try await s.sessions.create(SessionSpec())
        let runs = Self.runs(s, agent: "sleep")
        let running = RunningService(runs)
        let run = try await runs.start(session: session.id, prompt: "600")
        try await Self.eventually("the run is going") { (try? await s.store.run(id: run.id))?.status == .running }
        // The shutdown cancels the run's task; its last status, event and audit entry are written all the same.
        try await running.stop()
        let stored = try #require(try await s.store.run(id: run.id))
        #expect(stored.status == .failed, "\(stored.status)")
        #expect(stored.reason?.contains("the Paddock server stopped") == true, "\(stored.reason ?? "-")")
        let events = try await s.store.runEvents(run: run.id, after: 0)
        #expect(events.last?.status == .failed, "\(events)")
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
