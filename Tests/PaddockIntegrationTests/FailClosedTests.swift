import Foundation
import PaddockCore
import PaddockTestSupport
import Testing

@testable import PaddockServices

/// Where a session's stored policy cannot be read, the actions it governs are refused; it is never read as
/// "no policy", which would drop the org and team layers. No sandbox or root needed.
struct FailClosedTests {
    static func session(effective: String) -> Session {
        var session = Session(
            id: .random(), state: .running, spec: SessionSpec(), createdAt: Date(), updatedAt: Date(), expiresAt: nil)
        session.policy = SessionPolicy(
            sources: [], summary: [], notes: [], effective: effective, guardsCommands: false)
        return session
    }

    @Test func anUnreadableStoredPolicyRefusesTheNetworkInsteadOfDroppingItsLayers() throws {
        let broken = Self.session(effective: "{\"network\": [ not json")
        #expect(throws: PaddockError.self) { try SessionNetwork.policy(for: broken) }
        let error = try #require(throws: PaddockError.self) { try broken.effectivePolicy() }
        #expect(error.message.contains("cannot be read"))
        #expect(error.message.contains("destroy the session"))
    }

    @Test func anUnreadableStoredPolicyRefusesCommands() async throws {
        let s = try LifecycleRaceTests.stack()
        var session = try await s.sessions.create(SessionSpec())
        #expect(try await s.sessions.run(session.id, ["true"]).status.code == 0)
        session.policy = Self.session(effective: "{ not json").policy
        try await s.store.updateSession(session, expecting: .running)
        let error = await #expect(throws: PaddockError.self) { try await s.sessions.run(session.id, ["true"]) }
        #expect(error?.message.contains("cannot be read") == true)
        _ = try await s.sessions.destroy(session.id)
    }

    @Test func aSessionWithoutAPolicyHasNone() throws {
        var plain = Self.session(effective: "")
        plain.policy = nil
        #expect(try plain.effectivePolicy() == nil)
        #expect(try SessionNetwork.policy(for: plain) == nil)
    }
}
