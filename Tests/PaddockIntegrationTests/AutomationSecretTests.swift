import Foundation
import PaddockCore
import PaddockStore
import PaddockTestSupport
import Testing

@testable import PaddockServices

/// Webhook secrets are stored sealed with the vault key, and plain ones from an older server are sealed at start.
@Suite struct AutomationSecretTests {
    @Test func webhookSecretsAreStoredSealedAndPlainOnesAreSealedAtStart() async throws {
        let dir = TestHost.makeDataDirectory("automation-sealed")
        defer { TestHost.removeDataDirectory(dir) }
        let store = try SQLiteStore.inMemory()
        let sessions = SessionService(store: store, providers: [:], logger: TestHost.quietLogger("sealed"))
        try await store.insertProject(
            Project(ProjectSpec(name: "p", repository: "/nonexistent/p.git"), by: "owner", at: Date()))
        let vault = try SecretVault(store: store, keyFile: dir + "/vault.key")
        let automations = try AutomationService(
            projects: ProjectService(sessions: sessions, vault: vault), logger: TestHost.quietLogger("sealed"))
        let spec = AutomationSpec(
            name: "hook", source: .webhook, project: "p", prompt: "{{event.text}}", runAs: UserAccount.ownerName)
        let (automation, created) = try await automations.create(spec, by: .system)
        let (other, _) = try await automations.create(
            AutomationSpec(
                name: "other", source: .webhook, project: "p", prompt: "{{event.text}}", runAs: UserAccount.ownerName),
            by: .system)
        let secret = try #require(created)
        let stored = try #require(try await store.automationSecret(automation.id))
        #expect(stored.hasPrefix("sealed:v1:") && !stored.contains(secret))

        func send(_ id: String, _ key: String) async throws -> Invocation {
            try await automations.receiveWebhook(
                id,
                WebhookRequest(
                    body: Data(#"{"text":"hi"}"#.utf8),
                    headers: ["Authorization": "Bearer \(secret)", "Idempotency-Key": key]))
        }
        _ = try await send(automation.id, "1")

        // What an older server stored: the plain secret. It still works, and the start seals it.
        try await store.setAutomationSecret(automation.id, secret: secret)
        _ = try await send(automation.id, "2")
        await automations.sealPlainSecrets()
        let resealed = try #require(try await store.automationSecret(automation.id))
        #expect(resealed.hasPrefix("sealed:v1:") && !resealed.contains(secret))
        _ = try await send(automation.id, "3")

        // A sealed secret is bound to its automation: copied into another row, it opens nothing there.
        try await store.setAutomationSecret(other.id, secret: resealed)
        await #expect(throws: PaddockError.self) { _ = try await send(other.id, "4") }
    }
}
