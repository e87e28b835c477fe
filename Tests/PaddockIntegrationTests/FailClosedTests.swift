import Foundation
import PaddockCore
import Testing

@testable import PaddockServer

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

    @Test func aSessionWithoutAPolicyHasNone() throws {
        var plain = Self.session(effective: "")
        plain.policy = nil
        #expect(try plain.effectivePolicy() == nil)
        #expect(try SessionNetwork.policy(for: plain) == nil)
    }
}
