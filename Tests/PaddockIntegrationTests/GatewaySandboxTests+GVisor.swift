import Foundation
import PaddockCore
import PaddockHost
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// gVisor sessions leave through the same gateway: paddock-init's relay inside gVisor reaches the gateway's
/// socket, secrets are swapped at their host, and the direct routes stay closed.
extension GatewaySandboxTests {
    @Test(.enabled("needs runsc (apt-get install runsc)") { await GVisorTests.runscInstalled })
    func gVisorSessionsReachAllowedHostsOnlyThroughTheGateway() async throws {
        let token = "tok-\(UUID().uuidString)"
        let api = try await LoopbackUpstream.start(expectedHeaders: ["Authorization": "Bearer \(token)"])
        try await Self.with("gw-gvisor", trust: [api]) { net in
            try await net.network.vault.set(
                name: "API_TOKEN", team: nil, value: token, hosts: ["127.0.0.1:\(api.port)"], allowHTTP: false)
            var spec = SessionSpec(provider: "gvisor")
            spec.secrets = ["API_TOKEN"]
            spec.network = PolicyRuleSet(default: nil, allow: ["127.0.0.1:\(api.port)"])
            let s = try await net.sessions.create(spec)
            let call = try await net.sessions.proxiedSh(
                s.id,
                "curl -sS --max-time 20 -H \"Authorization: Bearer $API_TOKEN\" https://127.0.0.1:\(api.port)/check")
            #expect(call.stdout == "authorized\n", "\(call.stdout) \(call.stderr)")
            let direct = try await net.sessions.proxiedSh(
                s.id,
                "curl -sS --noproxy '*' --max-time 5 -k https://127.0.0.1:\(api.port)/check; echo \" exit=$?\"")
            #expect(!direct.stdout.contains("authorized"), "\(direct.stdout)")
            // The relay's socket is the sandbox root's: the session user cannot talk to the gateway directly.
            let user = try await net.sessions.proxiedSh(s.id, "ls /run/paddock 2>&1; echo exit=$?")
            #expect(user.stdout.contains("exit=2") || user.stdout.contains("Permission denied"), "\(user.stdout)")
            #expect(await api.requests.count == 1)
            #expect(await net.auditEvents(s.id).contains { $0.secretsInjected == ["API_TOKEN"] })
        }
    }
}
