import Foundation
import Hummingbird
import NIOCore

/// One OpenAI Responses API answer (`POST /v1/responses`), whole or as the server-sent events the streaming API
/// sends: `response.created`, `response.in_progress`, the output item's `added` / delta / `done` events, and
/// `response.completed` carrying the usage. A scripted tool call is a `function_call` item whose `arguments`
/// are the turn's input text, under the turn's tool name (`shell`, `exec_command`, `apply_patch`…). Codex offers
/// an MCP server's tools in a `namespace` tool (`mcp__notes` holding `lookup`) and expects a call of one to name
/// its namespace: a scripted `mcp__notes__lookup` is answered as `lookup` in namespace `mcp__notes` when the
/// request offers that namespace.
struct ResponsesAnswer {
    let turn: ScriptedModelServer.Turn
    let model: String
    /// The names of the `namespace` tools the request offered.
    var namespaces: [String] = []
    let id = "resp_\(UInt32.random(in: 0...UInt32.max))"
    let itemID = "item_\(UInt32.random(in: 0...UInt32.max))"

    var usage: [String: Any] {
        let u = ScriptedModelServer.usagePerCall
        // OpenAI counts cached tokens inside input_tokens.
        return [
            "input_tokens": u.input + u.cacheRead, "input_tokens_details": ["cached_tokens": u.cacheRead],
            "output_tokens": u.output, "output_tokens_details": ["reasoning_tokens": 0],
            "total_tokens": u.input + u.cacheRead + u.output,
        ]
    }

    /// The finished output item.
    var item: [String: Any] {
        switch turn {
        case .say(let text):
            return [
                "type": "message", "id": itemID, "status": "completed", "role": "assistant",
                "content": [["type": "output_text", "text": text, "annotations": [Any]()] as [String: Any]],
            ]
        case .tool(let name, let input):
            var call: [String: Any] = [
                "type": "function_call", "id": itemID, "status": "completed",
                "call_id": "call_\(UInt32.random(in: 0...UInt32.max))", "name": name, "arguments": input,
            ]
            if let namespace = namespaces.first(where: { name.hasPrefix($0 + "__") }) {
                call["namespace"] = namespace
                call["name"] = String(name.dropFirst(namespace.count + 2))
            }
            return call
        }
    }

    /// The names of the `namespace` tools in a request's `tools`.
    static func namespaces(offered tools: [Any]) -> [String] {
        tools.compactMap { tool in
            guard let tool = tool as? [String: Any], tool["type"] as? String == "namespace" else { return nil }
            return tool["name"] as? String
        }
    }

    func response(status: String, output: [[String: Any]], usage: Any) -> [String: Any] {
        [
            "id": id, "object": "response", "created_at": Int(Date().timeIntervalSince1970), "status": status,
            "model": model, "output": output, "usage": usage, "error": NSNull(), "incomplete_details": NSNull(),
            "parallel_tool_calls": false, "tool_choice": "auto", "tools": [Any](),
        ]
    }

    func response(stream: Bool) -> Response {
        let done = item
        if !stream {
            return ScriptedModelServer.json(
                .ok, ScriptedModelServer.encode(response(status: "completed", output: [done], usage: usage)))
        }
        var events: [[String: Any]] = [
            ["type": "response.created", "response": response(status: "in_progress", output: [], usage: NSNull())],
            ["type": "response.in_progress", "response": response(status: "in_progress", output: [], usage: NSNull())],
        ]
        var started = done
        started["status"] = "in_progress"
        switch turn {
        case .say(let text):
            started["content"] = [Any]()
            events.append(["type": "response.output_item.added", "output_index": 0, "item": started])
            let part: [String: Any] = ["type": "output_text", "text": "", "annotations": [Any]()]
            events.append([
                "type": "response.content_part.added", "item_id": itemID, "output_index": 0, "content_index": 0,
                "part": part,
            ])
            // Two deltas, so a client that only keeps the last one shows a cut answer.
            let half = text.index(text.startIndex, offsetBy: text.count / 2)
            for piece in [String(text[..<half]), String(text[half...])] where !piece.isEmpty {
                events.append([
                    "type": "response.output_text.delta", "item_id": itemID, "output_index": 0, "content_index": 0,
                    "delta": piece,
                ])
            }
            events.append([
                "type": "response.output_text.done", "item_id": itemID, "output_index": 0, "content_index": 0,
                "text": text,
            ])
            var finished = part
            finished["text"] = text
            events.append([
                "type": "response.content_part.done", "item_id": itemID, "output_index": 0, "content_index": 0,
                "part": finished,
            ])
        case .tool(_, let input):
            started["arguments"] = ""
            events.append(["type": "response.output_item.added", "output_index": 0, "item": started])
            let half = input.index(input.startIndex, offsetBy: input.count / 2)
            for piece in [String(input[..<half]), String(input[half...])] where !piece.isEmpty {
                events.append([
                    "type": "response.function_call_arguments.delta", "item_id": itemID, "output_index": 0,
                    "delta": piece,
                ])
            }
            events.append([
                "type": "response.function_call_arguments.done", "item_id": itemID, "output_index": 0,
                "arguments": input,
            ])
        }
        events.append(["type": "response.output_item.done", "output_index": 0, "item": done])
        events.append([
            "type": "response.completed", "response": response(status: "completed", output: [done], usage: usage),
        ])
        var chunks: [String] = []
        for (n, var event) in events.enumerated() {
            event["sequence_number"] = n
            chunks.append("event: \(event["type"] as? String ?? "")\ndata: \(ScriptedModelServer.encode(event))\n\n")
        }
        let body = chunks
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                // Sent event by event, as the real API streams them.
                for chunk in body { try await writer.write(ByteBuffer(string: chunk)) }
                try await writer.finish(nil)
            })
    }
}
