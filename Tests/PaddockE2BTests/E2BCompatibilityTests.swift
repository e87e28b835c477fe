import Foundation
import PaddockAPI
import Synchronization
import Testing

@testable import PaddockServer

/// The small pieces of E2B's wire contract that E2B's own SDK suite leans on, checked against values its
/// Python SDK computes.
struct E2BCompatibilityTests {
    @Test func keysHaveAnE2BSpellingOfTheSameSecret() {
        #expect(E2BKeySpelling.e2b("pdk_00ff") == "e2b_00ff")
        #expect(E2BKeySpelling.e2b("e2b_00ff") == nil)
        #expect(E2BKeySpelling.paddock("e2b_00ff") == "pdk_00ff")
        #expect(E2BKeySpelling.paddock("pdk_00ff") == "pdk_00ff")
    }

    @Test func accessTokensCarryTheKeyAndNameTheSandbox() {
        let token = E2BAccessToken.make(key: "e2b_00ff", sandbox: "abc123")
        #expect(token == "e2b_00ff.abc123")
        #expect(E2BAccessToken.key(of: token) == "e2b_00ff")
        #expect(E2BAccessToken.key(of: "e2b_00ff") == "e2b_00ff")
        #expect(E2BAccessToken.make(key: token, sandbox: "def456") == "e2b_00ff.def456")
    }

    @Test func signaturesMatchTheSDKs() {
        // e2b.sandbox.signature.get_signature("a.txt", "read", None, "e2b_00ff")
        #expect(
            E2BSignedFiles.signature(path: "a.txt", operation: "read", user: "", token: "e2b_00ff", expiration: nil)
                == "v1_Bs9sR47f8XO4vn5x80+MmAc+PBYiUFMyBKfTW/NWOPc")
        #expect(
            E2BSignedFiles.signature(
                path: "a.txt", operation: "write", user: "user", token: "e2b_00ff", expiration: "1700000000")
                == "v1_skzsznGQXi5McGy7QcjP2E/TRViqay1kZy2/27jP8EE")
    }

    @Test func signedURLsNameTheirSandbox() async {
        let tokens = E2BAccessTokens()
        await tokens.record(sandbox: "one", token: "e2b_01")
        await tokens.record(sandbox: "two", token: "e2b_02")
        let signature = E2BSignedFiles.signature(
            path: "f", operation: "read", user: "", token: "e2b_02", expiration: nil)
        let signer = await tokens.signer(of: signature, path: "f", operation: "read", user: "", expiration: nil)
        #expect(signer?.sandbox == "two")
        #expect(await tokens.signer(of: signature, path: "g", operation: "read", user: "", expiration: nil) == nil)
        await tokens.forget(sandbox: "two")
        #expect(await tokens.signer(of: signature, path: "f", operation: "read", user: "", expiration: nil) == nil)
    }

    @Test func credentialsOfEndedSandboxesAreForgotten() async {
        // A sandbox ended by its TTL never passes through the E2B door; the next look at the map drops it.
        let live = Mutex<Set<String>>(["one", "two"])
        let tokens = E2BAccessTokens(pruneInterval: .zero) { live.withLock { $0 } }
        await tokens.record(sandbox: "one", token: "e2b_01")
        await tokens.record(sandbox: "two", token: "e2b_02")
        #expect(await tokens.count == 2)
        live.withLock { $0 = ["two"] }
        let signature = E2BSignedFiles.signature(
            path: "f", operation: "read", user: "", token: "e2b_01", expiration: nil)
        #expect(await tokens.signer(of: signature, path: "f", operation: "read", user: "", expiration: nil) == nil)
        #expect(await tokens.count == 1)
        await tokens.record(sandbox: "three", token: "e2b_03")
        #expect(await tokens.count == 2)
    }

    @Test func pythonTimestampsParse() throws {
        let date = try #require(E2B.parseRFC3339("2026-12-06T23:40:00.123456+00:00"))
        #expect(E2B.milliseconds(date) == 1_796_600_400_123)
        #expect(E2B.parseRFC3339("2026-12-06T23:40:00Z") != nil)
        #expect(E2B.parseRFC3339("yesterday") == nil)
    }

    @Test func symlinkTargetsNormalizeByText() {
        #expect(
            EnvdFilesystemService.lexicallyNormalized("/home/user/links/./target.txt") == "/home/user/links/target.txt")
        #expect(EnvdFilesystemService.lexicallyNormalized("/home/user/links/../up.txt") == "/home/user/up.txt")
        #expect(EnvdFilesystemService.lexicallyNormalized("/../..") == "/")
    }
}
