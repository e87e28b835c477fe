import NIOCore
import NIOHTTP1
import PaddockCore
import Testing

@testable import PaddockGateway

/// The meter reads usage from model API responses as they pass, whole or streamed, however the bytes are cut.
struct ModelUsageMeterTests {
    static func meter(
        _ api: ModelUsageMeter.API, contentType: String, encoding: String? = nil, body: String, chunk: Int
    ) -> ModelUsage {
        var meter = ModelUsageMeter(api: api)
        meter.head(contentType: contentType, contentEncoding: encoding)
        let bytes = Array(body.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunk)
            meter.body(ByteBuffer(bytes: bytes[start..<end]))
            start = end
        }
        return meter.end()
    }

    static let anthropicStream = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":1200,"cache_creation_input_tokens":100,"cache_read_input_tokens":300,"output_tokens":1}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"the usage of \\"usage\\" here is text"}}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":17}}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":42}}

        event: message_stop
        data: {"type":"message_stop"}


        """

    static let openAIStream = """
        data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}

        data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4.1","choices":[],"usage":{"prompt_tokens":500,"completion_tokens":25,"total_tokens":525,"prompt_tokens_details":{"cached_tokens":200}}}

        data: [DONE]


        """

    static let responsesStream = """
        event: response.created
        data: {"type":"response.created","response":{"id":"r1","model":"gpt-5","usage":null}}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","delta":"Hello"}

        event: response.completed
        data: {"type":"response.completed","response":{"id":"r1","model":"gpt-5","usage":{"input_tokens":900,"input_tokens_details":{"cached_tokens":100},"output_tokens":60,"total_tokens":960}}}


        """

    @Test(arguments: [1, 3, 17, 4096])
    func anthropicStreamIsMeteredToTheToken(chunk: Int) {
        let usage = Self.meter(
            .anthropicMessages, contentType: "text/event-stream", body: Self.anthropicStream, chunk: chunk)
        #expect(usage.metered && usage.streamed)
        #expect(usage.model == "claude-sonnet-4-5")
        #expect(usage.tokens == TokenUsage(input: 1200, output: 42, cacheRead: 300, cacheWrite: 100))
    }

    @Test(arguments: [1, 5, 4096])
    func openAIChatStreamWithIncludeUsage(chunk: Int) {
        let usage = Self.meter(
            .openAIChat, contentType: "text/event-stream; charset=utf-8", body: Self.openAIStream, chunk: chunk)
        #expect(usage.model == "gpt-4.1")
        // OpenAI counts cached tokens inside prompt_tokens: they are split out, as Anthropic reports them.
        #expect(usage.tokens == TokenUsage(input: 300, output: 25, cacheRead: 200, cacheWrite: 0))
    }

    @Test(arguments: [2, 4096])
    func responsesAPICompletedEvent(chunk: Int) {
        let usage = Self.meter(
            .openAIResponses, contentType: "text/event-stream", body: Self.responsesStream, chunk: chunk)
        #expect(usage.model == "gpt-5")
        #expect(usage.tokens == TokenUsage(input: 800, output: 60, cacheRead: 100, cacheWrite: 0))
    }

    @Test func wholeJSONBodies() {
        let anthropic = Self.meter(
            .anthropicMessages, contentType: "application/json",
            body:
                #"{"model":"claude-haiku-4-5","content":[],"usage":{"input_tokens":10,"output_tokens":4,"cache_read_input_tokens":2,"cache_creation_input_tokens":1}}"#,
            chunk: 7)
        #expect(!anthropic.streamed)
        #expect(anthropic.tokens == TokenUsage(input: 10, output: 4, cacheRead: 2, cacheWrite: 1))
        let chat = Self.meter(
            .openAIChat, contentType: "application/json",
            body: #"{"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":33,"completion_tokens":7}}"#, chunk: 4096)
        #expect(chat.tokens == TokenUsage(input: 33, output: 7) && chat.model == "gpt-4o")
        let responses = Self.meter(
            .openAIResponses, contentType: "application/json",
            body: #"{"id":"r","model":"gpt-5","usage":{"input_tokens":5,"output_tokens":6}}"#, chunk: 3)
        #expect(responses.tokens == TokenUsage(input: 5, output: 6))
    }

    @Test func unreadableResponsesAreCountedUnmetered() {
        let compressed = Self.meter(
            .anthropicMessages, contentType: "application/json", encoding: "gzip", body: "\u{1f}\u{8b}...",
            chunk: 4096)
        #expect(!compressed.metered && compressed.tokens == TokenUsage())
        let error = Self.meter(
            .anthropicMessages, contentType: "application/json",
            body: #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, chunk: 4096)
        #expect(!error.metered)
    }

    @Test func apisAreKnownByMethodAndPath() {
        #expect(ModelUsageMeter.api(method: "POST", path: "/v1/messages") == .anthropicMessages)
        #expect(ModelUsageMeter.api(method: "POST", path: "/v1/messages?beta=true") == .anthropicMessages)
        #expect(ModelUsageMeter.api(method: "POST", path: "/openai/v1/chat/completions") == .openAIChat)
        #expect(ModelUsageMeter.api(method: "POST", path: "/v1/responses") == .openAIResponses)
        #expect(ModelUsageMeter.api(method: "GET", path: "/v1/messages") == nil)
        #expect(ModelUsageMeter.api(method: "POST", path: "/v1/messages/count_tokens") == nil)
    }

    // MARK: Through the state machine

    @Test func theStateMachineMetersAModelCallAndAsksForAnUncompressedBody() throws {
        var machine = ProxyFrontStateMachineTests.machine()
        let start = machine.requestHead(
            ProxyFrontStateMachineTests.head(
                "http://example.com/v1/messages", method: .POST, headers: [("Accept-Encoding", "gzip, br")]))
        #expect(start.started?.next.authorizes == 0)
        #expect(machine.requestEnd(nil).isNone)
        #expect(machine.policyDecided(0, .success(try ProxyFrontStateMachineTests.route())).dials == 0)
        let parts = try #require(machine.upstreamConnected(0).forwardedAll)
        guard case .head(let forwarded) = parts.first else {
            Issue.record("the head goes first")
            return
        }
        #expect(forwarded.headers["accept-encoding"] == ["identity"])
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/event-stream")
        _ = machine.upstreamResponse(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)), from: 0)
        _ = machine.upstreamResponse(.body(ByteBuffer(string: Self.anthropicStream)), from: 0)
        let end = machine.upstreamResponse(.end(nil), from: 0)
        guard case .endResponse(_, let record, _) = end else {
            Issue.record("the response ends: \(end)")
            return
        }
        #expect(
            record.first?.modelUsage?.tokens == TokenUsage(input: 1200, output: 42, cacheRead: 300, cacheWrite: 100))
    }

    @Test func aRefusedModelCallIsAnsweredAndRecordedWithoutGoingUpstream() {
        var machine = ProxyFrontStateMachine(
            session: ProxyFrontStateMachineTests.session, mode: .proxy, secrets: [],
            decide: { _, _ in .success(ProxyFrontStateMachineTests.allowed) },
            modelCallRefusal: { "team a spent its budget" })
        let action = machine.requestHead(
            ProxyFrontStateMachineTests.head("http://example.com/v1/chat/completions", method: .POST))
        guard case .refuseModelCall(let status, let reason, let record) = action else {
            Issue.record("refused: \(action)")
            return
        }
        #expect(status == 402 && reason.contains("budget"))
        #expect(record.first?.decision == "deny" && record.first?.status == 402)
        // Anything else still goes.
        var other = ProxyFrontStateMachine(
            session: ProxyFrontStateMachineTests.session, mode: .proxy, secrets: [],
            decide: { _, _ in .success(ProxyFrontStateMachineTests.allowed) },
            modelCallRefusal: { "team a spent its budget" })
        #expect(other.requestHead(ProxyFrontStateMachineTests.head("http://example.com/a")).started != nil)
    }
}
