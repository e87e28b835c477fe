import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// The vault over a real SQLite file and a real key file, and `/v1/secrets` through the production router.
struct SecretVaultTests {
    static func withVault(_ body: (SecretVault, SQLiteStore, String) async throws -> Void) async throws {
        let dir = TestHost.makeDataDirectory("vault")
        defer { TestHost.removeDataDirectory(dir) }
        let store = try SQLiteStore(path: dir + "/paddock.sqlite")
        let vault = try SecretVault(store: store, keyFile: dir + "/vault.key")
        try await body(vault, store, dir)
    }

    @Test func valuesAreSealedUnderAKeyOutsideTheDatabase() async throws {
        try await Self.withVault { vault, store, dir in
            let value = "sealed-\(UUID().uuidString)"
            try await vault.set(
                name: "STRIPE_API_KEY", team: nil, value: value, hosts: ["api.stripe.com"], allowHTTP: false)
            var info = stat()
            #expect(stat(dir + "/vault.key", &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
            #expect(info.st_size == 32)
            let stored = try #require(try await store.secret(team: "default", name: "STRIPE_API_KEY"))
            #expect(!Array(stored.sealed).contains(Array(value.utf8)))
            for file in ["paddock.sqlite", "paddock.sqlite-wal"] {
                let bytes = Array(FileManager.default.contents(atPath: dir + "/" + file) ?? Data())
                #expect(!bytes.contains(Array(value.utf8)), "\(file) holds the value in plaintext")
            }
            #expect(try await vault.list(team: nil).map(\.name) == ["STRIPE_API_KEY"])
            #expect(try await vault.list(team: "other").isEmpty)
            // Another vault key cannot open the value: the key file is what protects it.
            try FileManager.default.removeItem(atPath: dir + "/vault.key")
            let other = try SecretVault(store: store, keyFile: dir + "/vault.key")
            let network = SessionNetworkProbe(vault: other)
            await #expect(throws: PaddockError.self) { try await network.open("STRIPE_API_KEY") }
        }
    }

    @Test(arguments: [
        ("1BAD", ["a.example.com"], "not valid"),
        ("GOOD", [String](), "hosts"),
        ("GOOD", ["https://a.example.com/x"], "is a URL"),
    ])
    func badSecretsAreClearErrors(name: String, hosts: [String], mentions: String) async throws {
        try await Self.withVault { vault, _, _ in
            do {
                try await vault.set(name: name, team: nil, value: "v", hosts: hosts, allowHTTP: false)
                Issue.record("accepted")
            } catch let error as PaddockError {
                #expect(error.message.contains(mentions), "\(error.message)")
            }
        }
    }

    @Test func theAPIIsWriteOnly() async throws {
        try await Self.withVault { vault, store, _ in
            let tokens = TokenService(store: store)
            let token = try await tokens.issue(name: "test")
            let sessions = SessionService(store: store, providers: [:], logger: TestHost.quietLogger("vault"))
            let router = buildRouter(
                sessions: sessions, tokens: tokens, configuration: ServerConfiguration(vault: vault))
            let value = "api-\(UUID().uuidString)"
            let auth: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
            try await Application(router: router).test(.router) { client in
                try await client.execute(
                    uri: "/v1/secrets/GITHUB_TOKEN", method: .put, headers: auth,
                    body: ByteBuffer(string: #"{"value": "\#(value)", "hosts": ["api.github.com"]}"#)
                ) { r in
                    #expect(r.status == .created)
                    #expect(!String(buffer: r.body).contains(value))
                    #expect(String(buffer: r.body).contains("api.github.com"))
                }
                try await client.execute(uri: "/v1/secrets", method: .get, headers: auth) { r in
                    #expect(r.status == .ok)
                    #expect(String(buffer: r.body).contains("GITHUB_TOKEN"))
                    #expect(!String(buffer: r.body).contains(value))
                }
                try await client.execute(uri: "/v1/secrets/GITHUB_TOKEN", method: .get, headers: auth) { r in
                    #expect(r.status != .ok)
                }
                try await client.execute(uri: "/v1/secrets/GITHUB_TOKEN", method: .delete, headers: auth) { r in
                    #expect(r.status == .noContent)
                }
                try await client.execute(uri: "/v1/secrets/GITHUB_TOKEN", method: .delete, headers: auth) { r in
                    #expect(r.status == .notFound)
                }
            }
        }
    }
}

/// Opens a secret the way a session start does (the vault's `open` is the gateway's door).
struct SessionNetworkProbe {
    let vault: SecretVault
    func open(_ name: String) async throws {
        var spec = SessionSpec()
        spec.secrets = [name]
        try await vault.checkOpens(spec)
    }
}
