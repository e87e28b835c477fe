import Foundation
import PaddockCore
import PaddockHost
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// runtime.yml drives the gateway: its `network:` rules decide where a session may connect (and the live
/// `session network` layer cannot open what the file closes), its `ask` rules wait for a person through the
/// approval queue, and its `secrets:` give the session placeholders whose hosts it can only narrow.
extension GatewaySandboxTests {
    @Test func runtimeYmlNetworkSecretsAndAskRulesGovernTheGateway() async throws {
        let token = "tok-\(UUID().uuidString)"
        let api = try await LoopbackUpstream.start(
            expectedHeaders: ["Authorization": "Bearer \(token)"], hostNames: ["api.test"])
        let plain = try await LoopbackUpstream.start(tls: false)
        let asked = try await LoopbackUpstream.start(tls: false)
        let closed = try await LoopbackUpstream.start(tls: false)
        try await Self.with("gw-policy", trust: [api, plain, asked, closed]) { net in
            // Secrets go by host name: `*.test` names resolve to loopback, which the policy must allow by address.
            net.network.gateway.setResolver { host in
                host.hasSuffix(".test") ? [IPAddress("127.0.0.1")].compactMap { $0 } : []
            }
            // The vault lets the token go to both hosts; the policy narrows it to the API.
            try await net.network.vault.set(
                name: "API_TOKEN", team: nil, value: token, hosts: ["api.test", "plain.test"], allowHTTP: true)
            let policy = PolicyText(
                text: """
                    version: 1
                    secrets:
                      API_TOKEN: {hosts: ["api.test:\(api.port)"]}
                    guardrails:
                      network:
                        default: deny
                        allow: ["api.test:\(api.port)", "127.0.0.1:\(api.port)", "plain.test:\(plain.port)",
                                "127.0.0.1:\(plain.port)"]
                        ask: ["127.0.0.1:\(asked.port)"]
                    """, file: "runtime.yml")
            // No --secret and no session rules: the file alone gives the secret and opens the network.
            let s = try await net.sessions.create(SessionSpec(), policy: policy)
            let sessions = net.sessions
            #expect(s.spec.secrets == ["API_TOKEN"])
            #expect(s.policy?.summary.contains { $0.hasPrefix("secrets: API_TOKEN") } == true)

            let call = try await sessions.proxiedSh(
                s.id,
                "curl -sS --max-time 20 -H \"Authorization: Bearer $API_TOKEN\" https://api.test:\(api.port)/check")
            #expect(call.stdout == "authorized\n", "\(call.stdout) \(call.stderr)")

            // The secret's placeholder sent to another allowed host (one the vault would allow) is refused.
            let narrowed = try await sessions.proxiedSh(
                s.id,
                "curl -sS --max-time 20 -D - -o /dev/null -H \"Authorization: Bearer $API_TOKEN\" "
                    + "http://plain.test:\(plain.port)/check")
            #expect(narrowed.stdout.hasPrefix("HTTP/1.1 403"), "\(narrowed.stdout) \(narrowed.stderr)")
            #expect(await plain.requests.count == 0)

            // A host the file does not allow stays closed, even after the session layer allows it.
            let closedCall = "curl -sS --max-time 20 -o /dev/null -w '%{http_code}' http://127.0.0.1:\(closed.port)/"
            _ = try await sessions.changeNetwork(s.id, allow: ["127.0.0.1"], deny: [], replace: false)
            let stillClosed = try await sessions.proxiedSh(s.id, closedCall)
            #expect(stillClosed.stdout == "403", "\(stillClosed.stdout) \(stillClosed.stderr)")
            #expect(await closed.requests.count == 0)

            // `ask`: the request waits for a person; approved it goes through, denied it is refused.
            let askCall = "curl -sS --max-time 60 -o /dev/null -w '%{http_code}' http://127.0.0.1:\(asked.port)/check"
            for approve in [true, false] {
                async let result = sessions.proxiedSh(s.id, askCall)
                let pending = try await Self.waitForApproval(sessions, s.id)
                #expect(pending.kind == "network")
                #expect(pending.subject == "127.0.0.1:\(asked.port)")
                #expect(pending.rule.contains("runtime.yml"), "\(pending.rule)")
                #expect(await sessions.awaitingApproval(s.id))
                _ = try await sessions.guardrails.approvals.answer(
                    id: pending.id, approve: approve, by: "alice", note: nil)
                let out = try await result
                #expect(out.stdout == (approve ? "200" : "403"), "\(approve): \(out.stdout) \(out.stderr)")
            }
            #expect(await asked.requests.count == 1)
        }
    }

    static func waitForApproval(_ sessions: SessionService, _ id: SessionID) async throws -> Approval {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let open = try await sessions.guardrails.approvals.list(session: id, includeAnswered: false).first {
                return open
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw PaddockError.internal("no approval request arrived within 30 s")
    }
}
