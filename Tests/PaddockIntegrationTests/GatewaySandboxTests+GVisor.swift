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

extension GatewaySandboxTests {
    /// A data directory with a long path (a test's label, an operator's deep `--data-dir`) puts every sandbox
    /// socket past the 107 bytes a unix socket address holds. Sessions on both providers still start, answer,
    /// reach the gateway and hand a port's connection over.
    @Test(
        .enabled("needs runsc (apt-get install runsc)") { await GVisorTests.runscInstalled },
        arguments: ["gvisor", "local"])
    func sandboxSocketsWorkUnderADataDirectoryOfAnyLength(provider: String) async throws {
        let label = "a-label-long-enough-to-push-every-socket-path-of-its-sandboxes-past-what-sun-path-holds"
        let api = try await LoopbackUpstream.start(expectedHeaders: [:])
        try await Self.with("\(label)-\(provider)", trust: [api]) { net in
            let sessions = "\(net.stack.dataDirectory)\(provider == "gvisor" ? "/gvisor" : "")/sessions"
            var spec = SessionSpec(provider: provider)
            spec.network = PolicyRuleSet(default: nil, allow: ["127.0.0.1:\(api.port)"])
            let s = try await net.sessions.create(spec)
            #expect("\(sessions)/\(s.id)/run/init.sock".utf8.count > 107, "the label must be long enough")
            // Through the gateway's socket, tunnelled (no secret, so nothing to intercept): -k for the upstream's own
            // self-signed certificate.
            let call = try await net.sessions.proxiedSh(
                s.id, "echo ran; curl -sSk --max-time 20 https://127.0.0.1:\(api.port)/check")
            #expect(call.stdout == "ran\nauthorized\n", "\(call.stdout) \(call.stderr)")
            try await PreviewAppFixture.start(in: s.id, port: 8000, sessions: net.sessions)
            let connection = try await net.sessions.dial(s.id, port: 8000, by: .system)
            try await connection.write(Array("GET /long HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n".utf8))
            var answer: [UInt8] = []
            for try await chunk in connection.inbound { answer += chunk }
            await connection.close()
            #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            try await net.sessions.destroy(s.id)
        }
    }
}
