import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import PaddockCore
import PaddockGateway
import PaddockHost

/// A model API on 127.0.0.1 (ephemeral port, HTTPS with its own CA) that answers from a script, for running
/// real agents without a real model. It speaks the Anthropic Messages API (`POST /v1/messages`, streamed as
/// server-sent events or not), OpenAI chat completions (`POST /v1/chat/completions`, streamed or not) and
/// OpenAI's Responses API (`POST /v1/responses`, streamed or not; ScriptedModelServer+Responses.swift).
/// Each model call that offers tools takes the next turn of the script; calls without tools (titles,
/// summaries) and calls past the end get a plain "Done." Every request must carry the real key
/// (`x-api-key` or `Authorization: Bearer`), else 401; all requests are recorded, headers and body included,
/// so a test can prove the placeholder never arrived.
public final class ScriptedModelServer: Sendable {
    /// One model answer.
    public enum Turn: Sendable, Equatable {
        /// Answer with text and end the turn.
        case say(String)
        /// Call a tool: its name (`Write`, `Bash`) and its input as a JSON object text.
        case tool(String, input: String)
    }

    public struct Recorded: Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]
        public var body: String
    }

    public let authority: CertificateAuthority
    public let port: Int
    /// Tokens each scripted answer reports (input, output, cache read, cache write).
    public static let usagePerCall = TokenUsage(input: 120, output: 20, cacheRead: 30, cacheWrite: 10)
    private let state: State
    private let task: Task<Void, any Error>

    actor State {
        var turns: [Turn]
        var recorded: [Recorded] = []
        var scriptedCalls = 0
        init(turns: [Turn]) { self.turns = turns }
        func record(_ r: Recorded) { recorded.append(r) }
        func next() -> Turn? {
            guard !turns.isEmpty else { return nil }
            scriptedCalls += 1
            return turns.removeFirst()
        }
        func append(_ more: [Turn]) { turns += more }
    }

    public var baseURL: String { "https://127.0.0.1:\(port)" }

    /// Requests seen so far, in order.
    public func requests() async -> [Recorded] { await state.recorded }
    /// Turns still to be given.
    public func remainingTurns() async -> [Turn] { await state.turns }
    /// Model calls that took a scripted turn.
    public func scriptedCalls() async -> Int { await state.scriptedCalls }
    /// Adds turns for the next prompt.
    public func enqueue(_ turns: [Turn]) async { await state.append(turns) }

    public static func start(apiKey: String, script: [Turn]) async throws -> ScriptedModelServer {
        let authority = try CertificateAuthority(name: "Paddock scripted model CA")
        let state = State(turns: script)
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let body = try await request.body.collect(upTo: 64 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let text = String(buffer: body)
            await state.record(
                Recorded(method: request.method.rawValue, path: request.uri.path, headers: headers, body: text))
            let responses = request.uri.path.hasSuffix("/responses")
            let openAI = responses || request.uri.path.hasSuffix("/chat/completions")
            let presented = openAI ? headers["authorization"] : headers["x-api-key"]
            guard presented == (openAI ? "Bearer \(apiKey)" : apiKey) else {
                return json(
                    .unauthorized,
                    #"{"type":"error","error":{"type":"authentication_error","message":"invalid api key"}}"#)
            }
            let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
            let model = object["model"] as? String ?? "scripted"
            let stream = object["stream"] as? Bool ?? false
            let offersTools = !((object["tools"] as? [Any]) ?? []).isEmpty
            let turn = filled(offersTools ? await state.next() ?? .say("Done.") : .say("Done."), from: text)
            if responses {
                let namespaces = ResponsesAnswer.namespaces(offered: object["tools"] as? [Any] ?? [])
                return ResponsesAnswer(turn: turn, model: model, namespaces: namespaces).response(stream: stream)
            }
            return openAI
                ? OpenAIAnswer(turn: turn, model: model).response(stream: stream)
                : AnthropicAnswer(turn: turn, model: model).response(stream: stream)
        }
        router.post("/v1/messages", use: handler)
        router.post("/v1/messages/count_tokens") { request, _ in
            _ = try await request.body.collect(upTo: 64 << 20)
            return json(.ok, #"{"input_tokens":120}"#)
        }
        router.post("/v1/chat/completions", use: handler)
        router.post("/v1/responses", use: handler)
        // Shutting down while a client keeps its connection open is logged as an error; it is not one here.
        let (port, task) = try await LoopbackServer.start(
            router: router, authority: authority, tlsNames: ["127.0.0.1", "localhost"], label: "scripted-model",
            logLevel: .critical)
        return ScriptedModelServer(authority: authority, port: port, state: state, task: task)
    }

    /// A tool input can use what an earlier tool answered, which a script cannot know in advance (the id a
    /// `create_session` returned): `{{answer:REGEX}}` becomes the first capture group of REGEX's last match in
    /// the request, which carries the conversation so far.
    static func filled(_ turn: Turn, from request: String) -> Turn {
        guard case .tool(let name, var input) = turn else { return turn }
        while let open = input.range(of: "{{answer:"),
            let close = input.range(of: "}}", range: open.upperBound..<input.endIndex)
        {
            let pattern = String(input[open.upperBound..<close.lowerBound])
            var value = ""
            if let regex = try? NSRegularExpression(pattern: pattern),
                let match = regex.matches(in: request, range: NSRange(request.startIndex..., in: request)).last,
                match.numberOfRanges > 1, let range = Range(match.range(at: 1), in: request)
            {
                value = String(request[range])
            }
            input.replaceSubrange(open.lowerBound..<close.upperBound, with: value)
        }
        return .tool(name, input: input)
    }

    private init(authority: CertificateAuthority, port: Int, state: State, task: Task<Void, any Error>) {
        self.authority = authority
        self.port = port
        self.state = state
        self.task = task
    }

    /// Stops the server and waits until its port is closed.
    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func encode(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func inputObject(_ text: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) ?? [String: Any]()
    }
}

/// One Anthropic Messages answer, whole or as the SSE events the streaming API sends.
struct AnthropicAnswer {
    let turn: ScriptedModelServer.Turn
    let model: String
    let id = "msg_\(UInt32.random(in: 0...UInt32.max))"

    var usage: [String: Int] {
        let u = ScriptedModelServer.usagePerCall
        return [
            "input_tokens": u.input, "output_tokens": u.output, "cache_read_input_tokens": u.cacheRead,
            "cache_creation_input_tokens": u.cacheWrite,
        ]
    }

    func response(stream: Bool) -> Response {
        let toolID = "toolu_\(UInt32.random(in: 0...UInt32.max))"
        let block: [String: Any]
        let stop: String
        switch turn {
        case .say(let text):
            block = ["type": "text", "text": text]
            stop = "end_turn"
        case .tool(let name, let input):
            block = ["type": "tool_use", "id": toolID, "name": name, "input": ScriptedModelServer.inputObject(input)]
            stop = "tool_use"
        }
        if !stream {
            return ScriptedModelServer.json(
                .ok,
                ScriptedModelServer.encode([
                    "id": id, "type": "message", "role": "assistant", "model": model, "content": [block],
                    "stop_reason": stop, "stop_sequence": NSNull(), "usage": usage,
                ]))
        }
        var events: [(String, [String: Any])] = []
        var start = usage
        start["output_tokens"] = 1
        events.append(
            (
                "message_start",
                [
                    "message": [
                        "id": id, "type": "message", "role": "assistant", "model": model, "content": [Any](),
                        "stop_reason": NSNull(), "stop_sequence": NSNull(), "usage": start,
                    ] as [String: Any]
                ]
            ))
        switch turn {
        case .say(let text):
            events.append(("content_block_start", ["index": 0, "content_block": ["type": "text", "text": ""]]))
            // Two deltas, so a client that only keeps the last one shows a cut answer.
            let half = text.index(text.startIndex, offsetBy: text.count / 2)
            for part in [String(text[..<half]), String(text[half...])] where !part.isEmpty {
                events.append(("content_block_delta", ["index": 0, "delta": ["type": "text_delta", "text": part]]))
            }
        case .tool(let name, let input):
            events.append(
                (
                    "content_block_start",
                    [
                        "index": 0,
                        "content_block": ["type": "tool_use", "id": toolID, "name": name, "input": [String: Any]()],
                    ]
                ))
            let half = input.index(input.startIndex, offsetBy: input.count / 2)
            for part in [String(input[..<half]), String(input[half...])] {
                events.append(
                    ("content_block_delta", ["index": 0, "delta": ["type": "input_json_delta", "partial_json": part]]))
            }
        }
        events.append(("content_block_stop", ["index": 0]))
        events.append(
            (
                "message_delta",
                [
                    "delta": ["stop_reason": stop, "stop_sequence": NSNull()],
                    "usage": ["output_tokens": ScriptedModelServer.usagePerCall.output],
                ]
            ))
        events.append(("message_stop", [:]))
        var text = ""
        for (name, var data) in events {
            data["type"] = name
            text += "event: \(name)\ndata: \(ScriptedModelServer.encode(data))\n\n"
        }
        let body = text
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                // Sent event by event, as the real API streams them.
                for chunk in body.components(separatedBy: "\n\n") where !chunk.isEmpty {
                    try await writer.write(ByteBuffer(string: chunk + "\n\n"))
                }
                try await writer.finish(nil)
            })
    }
}

/// One OpenAI chat-completions answer, whole or as `data:` chunks ending with `[DONE]`.
struct OpenAIAnswer {
    let turn: ScriptedModelServer.Turn
    let model: String
    let id = "chatcmpl-\(UInt32.random(in: 0...UInt32.max))"

    func response(stream: Bool) -> Response {
        let u = ScriptedModelServer.usagePerCall
        let usage: [String: Any] = [
            "prompt_tokens": u.input, "completion_tokens": u.output, "total_tokens": u.input + u.output,
        ]
        var message: [String: Any] = ["role": "assistant"]
        let finish: String
        switch turn {
        case .say(let text):
            message["content"] = text
            finish = "stop"
        case .tool(let name, let input):
            message["content"] = NSNull()
            message["tool_calls"] = [
                [
                    "id": "call_\(UInt32.random(in: 0...UInt32.max))", "type": "function",
                    "function": ["name": name, "arguments": input],
                ] as [String: Any]
            ]
            finish = "tool_calls"
        }
        let created = Int(Date().timeIntervalSince1970)
        if !stream {
            return ScriptedModelServer.json(
                .ok,
                ScriptedModelServer.encode([
                    "id": id, "object": "chat.completion", "created": created, "model": model,
                    "choices": [["index": 0, "message": message, "finish_reason": finish] as [String: Any]],
                    "usage": usage,
                ]))
        }
        func chunk(_ delta: [String: Any], finish: String?, usage: Any = NSNull()) -> String {
            let object: [String: Any] = [
                "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [["index": 0, "delta": delta, "finish_reason": finish ?? NSNull()] as [String: Any]],
                "usage": usage,
            ]
            return "data: \(ScriptedModelServer.encode(object))\n\n"
        }
        var text = chunk(["role": "assistant", "content": ""], finish: nil)
        switch turn {
        case .say(let answer): text += chunk(["content": answer], finish: nil)
        case .tool:
            var delta = message
            delta.removeValue(forKey: "content")
            delta.removeValue(forKey: "role")
            if var calls = delta["tool_calls"] as? [[String: Any]], !calls.isEmpty {
                calls[0]["index"] = 0
                delta["tool_calls"] = calls
            }
            text += chunk(delta, finish: nil)
        }
        text += chunk([:], finish: finish, usage: usage)
        text += "data: [DONE]\n\n"
        let body = text
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream"],
            body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: body))
                try await writer.finish(nil)
            })
    }
}
