import Foundation
import PaddockCore
import PaddockStore
import PaddockTestSupport
import Testing

@testable import PaddockServices

/// The memory of session rows `SessionService.get` answers from: whatever writes a session — the service's own
/// transitions, a destroy, or a write straight to the store — is what the next read sees, and a caller is
/// authorized against the row and their access as both are at that call.
@Suite struct KnownSessionsTests {
    @Test func everySessionWriteIsSeenByTheNextRead() async throws {
        let s = try LifecycleRaceTests.stack()
        let created = try await s.sessions.create(SessionSpec())
        #expect(try await s.sessions.get(created.id).state == .running)
        #expect(try await s.sessions.get(created.id).state == .running)  // from memory now

        try await s.sessions.pause(created.id)
        #expect(try await s.sessions.get(created.id).state == .paused)

        // Behind the service's back, straight to the store: still the next read's answer.
        var changed = try await s.sessions.get(created.id)
        changed.reason = "written to the store directly"
        try await s.store.updateSession(changed, expecting: .paused)
        #expect(try await s.sessions.get(created.id).reason == "written to the store directly")

        try await s.sessions.destroy(created.id)
        #expect(try await s.sessions.get(created.id).state == .destroyed)
    }

    @Test func aSessionMovedToAnotherTeamIsHiddenFromTheOldTeamAtTheNextCall() async throws {
        try await RBACTests.withOrg { org in
            let id = try #require(org.sessions["sa"].flatMap(SessionID.init(rawValue:)))
            let (aliceToken, bobToken) = (try #require(org.tokens["alice"]), try #require(org.tokens["bob"]))
            let alice = try #require(try await org.tokenService.authenticate(aliceToken))
            let bob = try #require(try await org.tokenService.authenticate(bobToken))
            _ = try await org.service.get(id, for: Caller(alice), needs: .write)
            await #expect(throws: PaddockError.self) { try await org.service.get(id, for: Caller(bob), needs: .read) }

            var moved = try await org.service.get(id)
            moved.team = "b"
            try await org.store.updateSession(moved, expecting: .running)

            let hidden = await #expect(throws: PaddockError.self) {
                try await org.service.get(id, for: Caller(alice), needs: .read)
            }
            #expect(hidden?.code == .notFound)
            #expect(try await org.service.get(id, for: Caller(bob), needs: .write).team == "b")
        }
    }

    @Test func anAccessChangeHoldsAtTheNextCallOnARememberedSession() async throws {
        try await RBACTests.withOrg { org in
            let id = try #require(org.sessions["sa"].flatMap(SessionID.init(rawValue:)))
            let token = try #require(org.tokens["alice"])
            let before = try #require(try await org.tokenService.authenticate(token))
            _ = try await org.service.get(id, for: Caller(before), needs: .write)

            try await org.store.setMembership(team: "a", user: "alice", member: false)

            let after = try #require(try await org.tokenService.authenticate(token))
            let hidden = await #expect(throws: PaddockError.self) {
                try await org.service.get(id, for: Caller(after), needs: .read)
            }
            #expect(hidden?.code == .notFound)
        }
    }

    @Test func everySessionWriteMovesTheStoresEpochEvenARefusedOne() async throws {
        let store = try SQLiteStore.inMemory()
        let now = Date()
        var session = Session(
            id: .random(), state: .running, spec: SessionSpec(), createdAt: now, updatedAt: now, expiresAt: nil)
        let start = store.sessionEpoch
        try await store.insertSession(session)
        #expect(store.sessionEpoch > start)
        let inserted = store.sessionEpoch
        session.state = .paused
        try await store.updateSession(session, expecting: .running)
        #expect(store.sessionEpoch > inserted)
        // A compare-and-set that lost its race changed nothing, but counting it costs only a needless re-read.
        let updated = store.sessionEpoch
        await #expect(throws: PaddockError.self) { try await store.updateSession(session, expecting: .running) }
        #expect(store.sessionEpoch > updated)
    }

    @Test func aRowReadBeforeAWriteIsNeverAnswered() {
        let known = EpochMemory<SessionID, Session>()
        let now = Date()
        let session = Session(
            id: .random(), state: .running, spec: SessionSpec(), createdAt: now, updatedAt: now, expiresAt: nil)
        known.remember(session, for: session.id, epoch: 7)
        #expect(known.value(session.id, epoch: 7)?.state == .running)
        #expect(known.value(session.id, epoch: 8) == nil)
        // Out of date once is forgotten: an older epoch does not bring it back.
        #expect(known.value(session.id, epoch: 7) == nil)
    }
}
