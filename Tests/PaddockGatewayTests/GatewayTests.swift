import AsyncHTTPClient
import Foundation
import NIOSSL
import PaddockCore
import PaddockGateway
import PaddockHost
import Testing

/// The gateway on the host, with real HTTPS upstreams on loopback and a real HTTP client using it as its
/// proxy. Sandbox-side behaviour (the relay, bypass routes, real tools) is in the integration tests.
@Suite(.serialized)
struct GatewayTests {
    @Test func tunnelsAllowedHTTPSWithoutDecrypting() async throws {
        let upstream = try await LoopbackUpstream.start()
        let harness = try await GatewayHarness.make(policy: try policy(allow: ["127.0.0.1:\(upstream.port)"]))
        try await cleanup(harness, [upstream]) {
            // The client verifies the upstream's own certificate: nothing in between re-signed it.
            let response = try await harness.with(trusting: [try upstream.authority.trustRoot()]) {
                try await $0.fetch("\(upstream.baseURL)/bytes/10240")
            }
            #expect(response.status == 200)
            #expect(response.body.utf8.count == 10240)
            let event = try #require(await harness.events().first)
            #expect(event.method == "CONNECT")
            #expect(event.mode == "tunnel")
            #expect(event.decision == "allow")
            #expect(event.rule?.contains("127.0.0.1:\(upstream.port)") == true)
            #expect(event.bytesDown > 10240)
        }
    }

    @Test func withoutAPolicyEverythingIsRefusedWithAReason() async throws {
        let upstream = try await LoopbackUpstream.start(tls: false)
        let harness = try await GatewayHarness.make(policy: nil)
        try await cleanup(harness, [upstream]) {
            let response = try await harness.curl("\(upstream.baseURL)/check")
            #expect(response.status == 403)
            #expect(response.reason?.contains("no network policy") == true)
            #expect(response.reason?.contains("paddock session network") == true)
            #expect(await upstream.requests.count == 0)
            let event = try #require(await harness.events().first)
            #expect(event.decision == "deny")
            #expect(event.status == 403)
        }
    }

    @Test func namesResolvingToLoopbackOrMetadataAreRefusedUnlessTheAddressIsAllowed() async throws {
        let upstream = try await LoopbackUpstream.start(tls: false)
        let harness = try await GatewayHarness.make(policy: try policy(default: .allow))
        harness.gateway.setResolver { host in
            host == "rebind.example" ? [IPAddress("127.0.0.1")].compactMap { $0 } : []
        }
        try await cleanup(harness, [upstream]) {
            do {
                // Allowed by name, but it resolves to loopback: refused.
                let rebind = try await harness.curl("http://rebind.example:\(upstream.port)/check")
                #expect(rebind.status == 403)
                #expect(rebind.reason?.contains("loopback") == true)
                let metadata = try await harness.curl("http://169.254.169.254/latest/meta-data/")
                #expect(metadata.status == 403)
                #expect(metadata.reason?.contains("metadata") == true)
                #expect(await upstream.requests.count == 0)
                // An explicit rule for the address opens it.
                harness.session.setPolicy(try policy(allow: ["127.0.0.1"], default: .allow))
                let allowed = try await harness.curl("http://rebind.example:\(upstream.port)/check")
                #expect(allowed.status == 200)
            }
        }
    }

    @Test func interceptsHostsWithASecretAndSwapsThePlaceholder() async throws {
        let value = "sk-live-\(UUID().uuidString)"
        let upstream = try await LoopbackUpstream.start(expectedHeaders: ["Authorization": "Bearer \(value)"])
        let placeholder = GatewaySecret.makePlaceholder(forValueOfLength: value.count)
        #expect(placeholder.count == value.count)
        let secret = try GatewaySecret(
            name: "API_KEY", value: value, placeholder: placeholder, hosts: ["127.0.0.1:\(upstream.port)"])
        let harness = try await GatewayHarness.make(
            policy: try policy(allow: ["127.0.0.1:\(upstream.port)"]), secrets: [secret],
            trust: [try upstream.authority.trustRoot()])
        // The client trusts only the session CA: the gateway terminates TLS for this host.
        try await cleanup(harness, [upstream]) {
            try await harness.with(trusting: [try harness.session.authority.trustRoot()]) { client in
                let ok = try await client.fetch(
                    "\(upstream.baseURL)/check", headers: [("Authorization", "Bearer \(placeholder)")])
                #expect(ok.status == 200, "\(ok.body)")
                // Keep-alive: a second request on the same intercepted connection is swapped too.
                let again = try await client.fetch(
                    "\(upstream.baseURL)/check", headers: [("Authorization", "Bearer \(placeholder)")])
                #expect(again.status == 200)
                let wrong = try await client.fetch(
                    "\(upstream.baseURL)/check", headers: [("Authorization", "Bearer nope")])
                #expect(wrong.status == 401)
            }
            let events = await harness.events(atLeast: 3)
            #expect(events.filter { $0.secretsInjected == ["API_KEY"] && $0.mode == "intercept" }.count == 2)
            #expect(events.allSatisfy { $0.path == "/check" })
            let audit = try String(
                contentsOfFile: harness.audit.path(for: harness.session.id.rawValue), encoding: .utf8)
            #expect(!audit.contains(value))
        }
    }

    @Test func aPlaceholderSentElsewhereOrOverPlainHTTPIsRefusedAndAudited() async throws {
        let value = "real-\(UUID().uuidString)"
        let plain = try await LoopbackUpstream.start(tls: false)
        let other = try await LoopbackUpstream.start(tls: false)
        let placeholder = GatewaySecret.makePlaceholder(forValueOfLength: value.count)
        let secret = try GatewaySecret(
            name: "TOKEN", value: value, placeholder: placeholder, hosts: ["127.0.0.1:\(plain.port)"])
        let harness = try await GatewayHarness.make(policy: try policy(allow: ["127.0.0.1"]), secrets: [secret])
        try await cleanup(harness, [plain, other]) {
            do {
                // The secret's own host, but over plaintext HTTP: not injected.
                let overHTTP = try await harness.curl(
                    "\(plain.baseURL)/check", headers: [("Authorization", placeholder)])
                #expect(overHTTP.status == 403)
                #expect(overHTTP.reason?.contains("only sent over TLS") == true)
                // Another host: refused.
                let elsewhere = try await harness.curl("\(other.baseURL)/check", headers: [("X-Token", placeholder)])
                #expect(elsewhere.status == 403)
                #expect(elsewhere.reason?.contains("may only be sent to") == true)
            }
            #expect(await plain.requests.count == 0)
            #expect(await other.requests.count == 0)
            let events = await harness.events(atLeast: 2)
            #expect(events.filter { $0.placeholderMisuse == ["TOKEN"] }.count == 2)
        }
    }

    @Test func plaintextInjectionWhenTheSecretAllowsIt() async throws {
        let value = "plain-\(UUID().uuidString)"
        let plain = try await LoopbackUpstream.start(expectedHeaders: ["X-Key": value], tls: false)
        let placeholder = GatewaySecret.makePlaceholder(forValueOfLength: value.count)
        let secret = try GatewaySecret(
            name: "K", value: value, placeholder: placeholder, hosts: ["127.0.0.1:\(plain.port)"], allowHTTP: true)
        let harness = try await GatewayHarness.make(policy: try policy(allow: ["127.0.0.1"]), secrets: [secret])
        try await cleanup(harness, [plain]) {
            do {
                let response = try await harness.curl("\(plain.baseURL)/check", headers: [("X-Key", placeholder)])
                #expect(response.status == 200)
            }
        }
    }

    @Test func anUntrustedUpstreamCertificateFailsTheInterceptedRequest() async throws {
        let upstream = try await LoopbackUpstream.start()
        let secret = try GatewaySecret(
            name: "K", value: "v-\(UUID().uuidString)", placeholder: "PADDOCK-PLACEHOLDER-0123456789abcdefXYZ",
            hosts: ["127.0.0.1:\(upstream.port)"])
        // No extra trust: the loopback CA is unknown to the gateway.
        let harness = try await GatewayHarness.make(
            policy: try policy(allow: ["127.0.0.1:\(upstream.port)"]), secrets: [secret])
        try await cleanup(harness, [upstream]) {
            try await harness.with(trusting: [try harness.session.authority.trustRoot()]) { client in
                let response = try await client.fetch("\(upstream.baseURL)/check")
                #expect(response.status == 502)
                #expect(await upstream.requests.count == 0)
            }
        }
    }

    @Test func policyChangesApplyToTheNextRequest() async throws {
        let upstream = try await LoopbackUpstream.start(tls: false)
        let harness = try await GatewayHarness.make(policy: try policy(deny: ["127.0.0.1"], default: .allow))
        try await cleanup(harness, [upstream]) {
            do {
                let before = try await harness.curl("\(upstream.baseURL)/check")
                #expect(before.status == 403)
                #expect(before.reason?.contains("deny by rule '127.0.0.1'") == true)
                try harness.gateway.setPolicy(session: harness.session.id, try policy(allow: ["127.0.0.1"]))
                let after = try await harness.curl("\(upstream.baseURL)/check")
                #expect(after.status == 200)
            }
        }
    }

    @Test func askIsDeniedWithoutAnApproverAndHeldForOne() async throws {
        let upstream = try await LoopbackUpstream.start(tls: false)
        let harness = try await GatewayHarness.make(policy: try policy(allow: ["127.0.0.1"], ask: ["127.0.0.1"]))
        try await cleanup(harness, [upstream]) {
            do {
                let denied = try await harness.curl("\(upstream.baseURL)/check")
                #expect(denied.status == 403)
                #expect(denied.reason?.contains("no approver") == true)
                let asked = Asked()
                harness.gateway.approvalHook = { _, host, port, _ in
                    await asked.add("\(host):\(port)")
                    return true
                }
                let approved = try await harness.curl("\(upstream.baseURL)/check")
                #expect(approved.status == 200)
                #expect(await asked.hosts == ["127.0.0.1:\(upstream.port)"])
            }
        }
    }

    @Test func aTLSServerNameOtherThanTheConnectTargetIsRefused() async throws {
        let upstream = try await LoopbackUpstream.start()
        let harness = try await GatewayHarness.make(policy: try policy(allow: ["127.0.0.1"]))
        try await cleanup(harness, [upstream]) {
            // curl connects (through the proxy) to 127.0.0.1 but sends the server name evil.example.
            let curl = try await runProcess(
                "/usr/bin/curl",
                [
                    "-sS", "--max-time", "15", "-o", "/dev/null", "-w", "%{http_code}", "--proxy",
                    "http://127.0.0.1:\(harness.port)",
                    "--connect-to", "evil.example:\(upstream.port):127.0.0.1:\(upstream.port)", "-k",
                    "https://evil.example:\(upstream.port)/check",
                ])
            #expect(curl.status != 0)
            #expect(await upstream.requests.count == 0)
            let events = await harness.events()
            #expect(events.contains { $0.decision == "deny" && $0.reason?.contains("evil.example") == true })
        }
    }
}

/// Runs `body`, then closes the gateway and stops the upstreams, whether or not it threw.
func cleanup(_ harness: GatewayHarness, _ upstreams: [LoopbackUpstream], _ body: () async throws -> Void) async throws {
    do { try await body() } catch {
        await harness.close()
        for upstream in upstreams { await upstream.stop() }
        throw error
    }
    await harness.close()
    for upstream in upstreams { await upstream.stop() }
}

actor Asked {
    var hosts: [String] = []
    func add(_ host: String) { hosts.append(host) }
}

/// Runs a host program to completion (tests only).
/// Runs a client program to completion. The blocking wait happens on a Dispatch thread, not on one of Swift
/// concurrency's few cooperative threads: with tests in parallel, blocked cooperative threads starve the
/// gateway's own tasks and every request times out.
func runProcess(_ path: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            do { try process.run() } catch {
                continuation.resume(throwing: error)
                return
            }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
        }
    }
}
