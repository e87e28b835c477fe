import Foundation
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// The approval hook on its own (no sandbox): a request blocks until answered, a timeout denies, answers are
/// persisted in SQLite, and a second answer is refused.
@Suite struct ApprovalServiceTests {
    let session = SessionID.random()

    private func withStore(_ body: (SQLiteStore) async throws -> Void) async throws {
        let dir = TestHost.makeDataDirectory("approvals")
        defer { TestHost.removeDataDirectory(dir) }
        try await body(try SQLiteStore(path: dir + "/paddock.sqlite"))
    }

    @Test func aRequestWaitsForItsAnswer() async throws {
        try await withStore { store in
            let service = ApprovalService(store: store, logger: TestHost.quietLogger("approvals"))
            let waiting = Task {
                await service.request(
                    session: session, kind: "exec", subject: "git push", rule: "ask by rule 'git push*'")
            }
            var open: [Approval] = []
            for _ in 0..<200 where open.isEmpty {
                open = try await service.list(session: session, includeAnswered: false)
                if open.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
            }
            let pending = try #require(open.first)
            #expect(await service.isAwaiting(session))
            let stored = try await store.approval(id: pending.id)
            #expect(stored?.state == .pending)
            _ = try await service.answer(id: pending.id, approve: true, by: "alice", note: "ok")
            let result = await waiting.value
            #expect(result.isApproved && result.decidedBy == "alice" && result.note == "ok")
            let answered = try await store.approval(id: pending.id)
            #expect(answered?.state == .approved)
            #expect(!(await service.isAwaiting(session)))
            await #expect(throws: PaddockError.self) {
                _ = try await service.answer(id: pending.id, approve: false, by: "bob", note: nil)
            }
        }
    }

    /// The inbox is told when a request opens and when it is answered, wherever it came from.
    @Test func theInboxHearsOfEveryRequestAndAnswer() async throws {
        try await withStore { store in
            let service = ApprovalService(store: store, logger: TestHost.quietLogger("approvals"))
            var changes = await service.inboxChanges().makeAsyncIterator()
            let waiting = Task {
                await service.request(session: session, kind: "network", subject: "example.com:443", rule: "ask")
            }
            #expect(await changes.next() != nil, "told of the request")
            let pending = try #require(try await service.list(session: session, includeAnswered: false).first)
            _ = try await service.answer(id: pending.id, approve: false, by: "alice", note: nil)
            #expect(await changes.next() != nil, "told of the answer")
            #expect(await waiting.value.state == .denied)
        }
    }

    @Test func nobodyAnsweringDenies() async throws {
        try await withStore { store in
            let service = ApprovalService(store: store, logger: TestHost.quietLogger("approvals"))
            let start = ContinuousClock.now
            let result = await service.request(
                session: session, kind: "exec", subject: "deploy", rule: "ask", timeout: .milliseconds(200))
            #expect(result.state == .expired && !result.isApproved && result.decidedBy == "timeout")
            #expect(ContinuousClock.now - start >= .milliseconds(200))
            let stored = try await store.approval(id: result.id)
            #expect(stored?.state == .expired)
        }
    }

    @Test func requestsLeftOpenByAPreviousServerAreClosed() async throws {
        try await withStore { store in
            let now = Date()
            try await store.insertApproval(
                Approval(
                    id: "apleftover1", session: session, kind: "exec", subject: "x", rule: "ask", requestedAt: now,
                    expiresAt: now.addingTimeInterval(60)))
            let service = ApprovalService(store: store, logger: TestHost.quietLogger("approvals"))
            await service.expireLeftovers()
            let closed = try await store.approval(id: "apleftover1")
            #expect(closed?.state == .expired)
            await #expect(throws: PaddockError.self) {
                _ = try await service.answer(id: "apleftover1", approve: true, by: "alice", note: nil)
            }
        }
    }
}
