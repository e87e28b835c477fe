import Foundation
import PaddockCore

/// Durable automations, their invocations and the outbox. A separate protocol from `Store`, like
/// `ProjectStore`; `SQLiteStore` implements it.
public protocol AutomationStore: Sendable {
    /// Stores a new automation with the secret its webhook is signed with (nil: none).
    func insertAutomation(_ automation: Automation, secret: String?) async throws
    /// Replaces the automation's record; `notFound` if it is gone.
    func updateAutomation(_ automation: Automation) async throws
    func automation(_ id: String) async throws -> Automation?
    func automations() async throws -> [Automation]
    /// The secret its webhook requests are signed with, as stored (sealed with the vault key by the service).
    func automationSecret(_ id: String) async throws -> String?
    /// Replaces the stored secret (a plain one from before secrets were sealed, now sealed).
    func setAutomationSecret(_ id: String, secret: String) async throws
    /// Removes the automation and its history; `notFound` if there is none.
    func deleteAutomation(_ id: String) async throws

    /// Stores an event. When an invocation of the same automation already has its dedupe key, stores a
    /// `deduplicated` record naming that one instead and returns it: the unique (automation, dedupe key) index
    /// decides, inside one transaction, so two deliveries at once cannot both be new.
    /// `queueing`: outbox messages stored in the same transaction when the event is new (a refusal's answer),
    /// and not at all for a replay.
    func insertInvocation(_ invocation: Invocation, queueing: [OutboxMessage]) async throws -> Invocation
    /// Replaces the invocation's record and queues `messages` in the same transaction, so an outcome is never
    /// stored without its reply (nor a reply sent about an outcome that was not stored).
    func updateInvocation(_ invocation: Invocation, queueing messages: [OutboxMessage]) async throws
    func invocation(_ id: String) async throws -> Invocation?
    /// Newest first.
    func invocations(automation: String, limit: Int) async throws -> [Invocation]
    /// Stored and not yet processed, or started and not yet finished, oldest first: what a restart picks up.
    func unfinishedInvocations() async throws -> [Invocation]
    /// How many of the automation's invocations started work since `since` (the rate limit).
    func startedCount(automation: String, since: Date) async throws -> Int

    /// The latest invocation of the automation in `conversation` that started work (the session to continue).
    func startedInvocation(automation: String, conversation: String) async throws -> Invocation?
    /// The latest invocation that started work in `session` (whose thread hears about the session's approvals).
    func startedInvocation(session: SessionID) async throws -> Invocation?

    /// Links an outside identity (`slack` user id, `github` login) to a Paddock user; nil `user` removes it.
    func setIdentityLink(provider: String, external: String, user: String?) async throws
    func linkedUser(provider: String, external: String) async throws -> String?
    /// Every link: provider, external id, user.
    func identityLinks() async throws -> [IdentityLink]

    func insertOutbox(_ message: OutboxMessage) async throws
    func updateOutbox(_ message: OutboxMessage) async throws
    /// Pending messages, soonest first.
    func pendingOutbox() async throws -> [OutboxMessage]
    func outbox(invocation: String) async throws -> [OutboxMessage]
}

extension AutomationStore {
    public func insertInvocation(_ invocation: Invocation) async throws -> Invocation {
        try await insertInvocation(invocation, queueing: [])
    }

    public func updateInvocation(_ invocation: Invocation) async throws {
        try await updateInvocation(invocation, queueing: [])
    }
}
