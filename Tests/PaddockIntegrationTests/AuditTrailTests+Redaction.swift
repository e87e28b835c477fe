import Foundation
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// Secret values typed by a person never reach the audit trail: the log scrubs every event, before hashing,
/// of every value in the vault.
extension AuditTrailTests {
    struct FailingRedactor: AuditRedactor {
        func auditRedaction() async throws -> AuditRedaction {
            throw PaddockError.unavailable("the vault cannot be read")
        }
    }

    @Test func everyEventIsScrubbedOfVaultValuesBeforeItIsHashed() async throws {
        let dir = TestHost.makeDataDirectory("audit-redact")
        defer { TestHost.removeDataDirectory(dir) }
        let store = try SQLiteStore(path: dir + "/paddock.sqlite")
        let vault = try SecretVault(store: store, keyFile: dir + "/vault.key")
        let org = "sk-org-\(UUID().uuidString)"
        let team = "gh-team-\(UUID().uuidString)"
        try await vault.set(name: "STRIPE_API_KEY", team: nil, value: org, hosts: ["api.stripe.com"], allowHTTP: false)
        try await vault.set(
            name: "GITHUB_TOKEN", team: "backend", value: team, hosts: ["api.github.com"], allowHTTP: false)
        try await vault.set(name: "PIN", team: nil, value: "4711", hosts: ["pin.example.com"], allowHTTP: false)
        let log = AuditLog(store: store)
        // Copies share the setting, as the gateway's and the guardrails' copies of the server's log do.
        let copy = log
        log.redactSecrets(using: vault)
        let session = SessionID.random()
        let actor = AuditActor(user: "alice", token: nil)
        try await copy.record(
            session: session, kind: "exec", actor: actor,
            fields: [
                "argv": .strings(["curl", "-H", "Authorization: Bearer \(org)", "https://api.stripe.com"]),
                "env": .object(["TOKEN": .string(team), team: "as a key"]),
                "cwd": "/workspace", "exit": 0,
            ])
        try await log.record(
            session: session, kind: "file.write", actor: actor, fields: ["path": .string("/workspace/\(org).txt")])
        try await log.record(
            session: session, kind: "approval", actor: actor,
            fields: ["subject": .string("git push https://x:\(team)@github.com/o/r \(org)"), "pin": "4711"])

        let export = String(decoding: try await log.export(session: session), as: UTF8.self)
        #expect(!export.contains(org) && !export.contains(team))
        #expect(export.contains("Authorization: Bearer [secret:STRIPE_API_KEY]"))
        #expect(export.contains("/workspace/[secret:STRIPE_API_KEY].txt"))
        #expect(export.contains("x:[secret:GITHUB_TOKEN]@github.com"))
        #expect(export.contains(#""[secret:GITHUB_TOKEN]":"as a key""#))
        // Shorter than AuditRedaction.minimumLength: left alone, as documented.
        #expect(export.contains(#""pin":"4711""#))
        let events = try await log.events(session: session)
        #expect(
            events.first?.fields["env"]
                == .object(["TOKEN": "[secret:GITHUB_TOKEN]", "[secret:GITHUB_TOKEN]": "as a key"]))
        // The chain was computed over the redacted bytes.
        #expect(
            try await log.verify(session: session)
                == AuditVerification(ok: true, events: 3, position: nil, problem: nil))
        for file in ["paddock.sqlite", "paddock.sqlite-wal"] {
            let bytes = Array(FileManager.default.contents(atPath: dir + "/" + file) ?? Data())
            #expect(!bytes.contains(Array(org.utf8)) && !bytes.contains(Array(team.utf8)), "\(file) holds a value")
        }
    }

    @Test func anEventIsNotWrittenWhenTheVaultCannotBeRead() async throws {
        let dir = TestHost.makeDataDirectory("audit-redact")
        defer { TestHost.removeDataDirectory(dir) }
        let log = AuditLog(store: try SQLiteStore(path: dir + "/paddock.sqlite"))
        log.redactSecrets(using: FailingRedactor())
        let session = SessionID.random()
        await #expect(throws: PaddockError.self) {
            try await log.record(session: session, kind: "exec", actor: .system, fields: ["argv": .strings(["true"])])
        }
        #expect(try await log.events(session: session).isEmpty)
    }
}
