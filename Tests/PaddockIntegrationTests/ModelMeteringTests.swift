import Foundation
import PaddockCore
import PaddockGateway
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// Model calls through the real egress gateway to a scripted model API on loopback (HTTPS, intercepted because
/// the session holds its key): streamed Anthropic and OpenAI answers are metered to the token, and a session
/// whose budget is spent has its next model call refused while everything else still goes.
@Suite(.serialized)
struct ModelMeteringTests {
    struct Stack {
        let model: ScriptedModelServer
        let gateway: EgressGateway
        let session: GatewaySession
        let audit: JSONLinesAuditSink
        let port: Int
        let directory: String
        let placeholder: String

        static func make() async throws -> Stack {
            let key = "sk-real-\(UInt64.random(in: 0...UInt64.max))"
            let model = try await ScriptedModelServer.start(apiKey: key, script: [])
            let directory = TestHost.makeDataDirectory("metering")
            do {
                let audit = try JSONLinesAuditSink(directory: directory + "/audit")
                let gateway = try EgressGateway(
                    auditSink: audit, extraTrustRoots: [try model.authority.trustRoot()],
                    logger: TestHost.quietLogger("gateway"))
                let placeholder = GatewaySecret.makePlaceholder(forValueOfLength: key.count)
                let secret = try GatewaySecret(
                    name: "MODEL_KEY", value: key, placeholder: placeholder, hosts: ["127.0.0.1"])
                let id = SessionID.random()
                let session = try gateway.openSession(
                    id, secrets: [secret],
                    policy: try NetworkPolicy(
                        PolicyRuleSet(
                            default: nil, allow: ["127.0.0.1"], ask: [], deny: [], origin: RuleOrigin(layer: "session"))
                    ))
                let port = try await gateway.listen(id)
                try session.authority.pem.write(toFile: directory + "/ca.pem", atomically: true, encoding: .utf8)
                return Stack(
                    model: model, gateway: gateway, session: session, audit: audit, port: port, directory: directory,
                    placeholder: placeholder)
            } catch {
                await model.stop()
                TestHost.removeDataDirectory(directory)
                throw error
            }
        }

        func close() async {
            await gateway.shutdown()
            await model.stop()
            TestHost.removeDataDirectory(directory)
        }

        /// A model call with curl through the gateway, as an agent in the sandbox makes it; returns the status
        /// line's code and the body.
        func call(_ path: String, body: String, openAI: Bool = false) async throws -> (status: Int, body: String) {
            let auth = openAI ? "authorization: Bearer \(placeholder)" : "x-api-key: \(placeholder)"
            let output = directory + "/answer-\(UInt32.random(in: 0...UInt32.max))"
            let result = try await MetricsTests.run(
                "/usr/bin/curl",
                [
                    "-sS", "-N", "--max-time", "30", "--proxy", "http://127.0.0.1:\(port)", "--cacert",
                    directory + "/ca.pem", "https://127.0.0.1:\(model.port)\(path)", "-H", auth, "-H",
                    "content-type: application/json", "-H", "accept-encoding: gzip", "-d", body, "-o", output,
                    "-w", "%{http_code}",
                ])
            let answer = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            return (Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, answer)
        }

        /// The session's model calls, once `count` are recorded (the audit sink writes them after the response).
        func modelCalls(_ count: Int) async throws -> [GatewayAuditEvent] {
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let calls = audit.events(for: session.id.rawValue).filter { $0.modelUsage != nil }
                if calls.count >= count { return calls }
                // The events are written by the gateway's audit queue; there is no signal to wait on here.
                try await Task.sleep(for: .milliseconds(50))
            }
            return audit.events(for: session.id.rawValue).filter { $0.modelUsage != nil }
        }
    }

    @Test func streamedAnthropicAndOpenAICallsAreMeteredToTheToken() async throws {
        let stack = try await Stack.make()
        do {
            let anthropic = try await stack.call(
                "/v1/messages", body: #"{"model":"claude-sonnet-4-5","stream":true,"max_tokens":64,"messages":[]}"#)
            #expect(anthropic.status == 200)
            #expect(anthropic.body.contains("message_stop"))
            let openAI = try await stack.call(
                "/v1/chat/completions",
                body: #"{"model":"gpt-4.1","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#,
                openAI: true)
            #expect(openAI.status == 200)
            let whole = try await stack.call(
                "/v1/messages", body: #"{"model":"claude-haiku-4-5","max_tokens":64,"messages":[]}"#)
            #expect(whole.status == 200)

            let calls = try await stack.modelCalls(3)
            try #require(calls.count == 3)
            let u = ScriptedModelServer.usagePerCall
            #expect(calls[0].modelUsage?.api == "anthropic.messages")
            #expect(calls[0].modelUsage?.streamed == true && calls[0].modelUsage?.model == "claude-sonnet-4-5")
            #expect(calls[0].modelUsage?.tokens == u)
            #expect(calls[1].modelUsage?.api == "openai.chat_completions" && calls[1].modelUsage?.model == "gpt-4.1")
            #expect(calls[1].modelUsage?.tokens == TokenUsage(input: u.input, output: u.output))
            #expect(calls[2].modelUsage?.streamed == false && calls[2].modelUsage?.tokens == u)
            // The upstream was asked for a body the meter can read.
            let seen = await stack.model.requests()
            #expect(seen.allSatisfy { $0.headers["accept-encoding"] == "identity" })
        } catch {
            await stack.close()
            throw error
        }
        await stack.close()
    }

    @Test func aSpentBudgetRefusesTheNextModelCallAndNothingElse() async throws {
        let stack = try await Stack.make()
        do {
            let first = try await stack.call(
                "/v1/messages", body: #"{"model":"claude-sonnet-4-5","stream":true,"messages":[]}"#)
            #expect(first.status == 200)
            stack.session.refuseModelCalls("team a spent $1.00 of its $1.00 monthly budget on model calls")
            let refused = try await stack.call(
                "/v1/messages", body: #"{"model":"claude-sonnet-4-5","stream":true,"messages":[]}"#)
            #expect(refused.status == 402)
            // In the API's own error shape, so the agent's SDK shows the reason.
            let object = try JSONSerialization.jsonObject(with: Data(refused.body.utf8)) as? [String: Any]
            let message = (object?["error"] as? [String: Any])?["message"] as? String
            #expect(message?.contains("monthly budget") == true, "\(refused.body)")
            // The call never reached the model API; other requests still go.
            #expect(await stack.model.requests().count == 1)
            let other = try await stack.call("/v1/messages/count_tokens", body: #"{"model":"claude-sonnet-4-5"}"#)
            #expect(other.status == 200)
            let events = stack.audit.events(for: stack.session.id.rawValue)
            #expect(events.contains { $0.status == 402 && $0.decision == "deny" })
        } catch {
            await stack.close()
            throw error
        }
        await stack.close()
    }
}

/// The services' side: a metered call is stored with its session's team and priced, and once the team's monthly
/// budget is spent the session's gateway refuses model calls (the session itself is not touched).
struct ModelMeteringServiceTests {
    @Test func aTeamOverBudgetHasItsSessionsModelCallsRefused() async throws {
        let dir = TestHost.makeDataDirectory("metering-budget")
        defer { TestHost.removeDataDirectory(dir) }
        let store = try SQLiteStore(path: dir + "/paddock.sqlite")
        let sessions = SessionService(store: store, providers: [:], logger: TestHost.quietLogger("sessions"))
        let vault = try SecretVault(store: store, keyFile: dir + "/vault.key")
        let network = try SessionNetwork.make(
            dataDirectory: dir, vault: vault, extraTrustFile: nil, logger: TestHost.quietLogger("gateway"))
        await sessions.setNetwork(network)
        let runs = RunService(
            sessions: sessions, store: store, teams: store,
            configuration: RunConfiguration(teamBudgets: ["payments": 0.0015]), logger: TestHost.quietLogger("runs"))
        let metering = ModelMetering(
            sessions: sessions, store: store, runs: runs, logger: TestHost.quietLogger("metering"))
        await metering.connect()

        let id = SessionID.random()
        var session = Session(
            id: id, state: .running, spec: SessionSpec(), createdAt: Date(), updatedAt: Date(), expiresAt: nil)
        session.team = "payments"
        try await store.insertSession(session)
        do {
            try await Self.spendTheBudget(id, store: store, network: network)
        } catch {
            await network.gateway.shutdown()
            throw error
        }
        await network.gateway.shutdown()
    }

    static func spendTheBudget(_ id: SessionID, store: SQLiteStore, network: SessionNetwork) async throws {
        let gateway = try network.gateway.openSession(id, policy: nil)

        // 120 input + 20 output tokens of Sonnet ($3/$15 per million): $0.00066 — under the $0.0015 budget.
        var event = GatewayAuditEvent(
            session: id.rawValue, method: "POST", host: "api.anthropic.com", port: 443, path: "/v1/messages",
            mode: "intercept", decision: "allow")
        event.status = 200
        event.modelUsage = ModelUsage(
            api: "anthropic.messages", model: "claude-sonnet-4-5", tokens: TokenUsage(input: 120, output: 20),
            streamed: true, metered: true)
        try await network.metrics?.record(event)
        #expect(gateway.modelCallRefusal == nil)
        let stored = try await store.modelCalls(session: id, run: nil, limit: 10)
        #expect(stored.count == 1)
        #expect(stored.first?.team == "payments" && stored.first?.usage == TokenUsage(input: 120, output: 20))
        #expect(abs((stored.first?.costUSD ?? 0) - 0.00066) < 1e-9)

        // Two more calls spend the budget: the next one is refused at the gateway, with the reason.
        try await network.metrics?.record(event)
        try await network.metrics?.record(event)
        let refusal = try #require(gateway.modelCallRefusal)
        #expect(refusal.contains("team payments") && refusal.contains("monthly budget"))
        let totals = try await store.modelCallTotals(run: nil, session: nil, team: "payments", since: nil)
        #expect(totals.calls == 3 && totals.usage == TokenUsage(input: 360, output: 60))
        #expect(try await store.session(id)?.state == .running)
    }
}
