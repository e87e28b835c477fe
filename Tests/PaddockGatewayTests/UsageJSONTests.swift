import Foundation
import Testing

@testable import PaddockGateway

/// The meter's own JSON reader against Foundation's: the same fields from the same events, and the same refusal
/// of anything that is not JSON (a cut event, a broken escape), so metering fails closed exactly as before.
struct UsageJSONTests {
    static let events = [
        #"{"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":1200,"cache_creation_input_tokens":100,"cache_read_input_tokens":300,"output_tokens":1}}}"#,
        #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":42}}"#,
        #"{"id":"c1","object":"chat.completion.chunk","model":"gpt-4.1","choices":[],"usage":{"prompt_tokens":500,"completion_tokens":25,"total_tokens":525,"prompt_tokens_details":{"cached_tokens":200,"audio_tokens":0}}}"#,
        #"{"type":"response.completed","response":{"id":"r1","model":"gpt-5","output":[{"type":"message","content":[{"type":"output_text","text":"a \"quoted\" \\ path \/ \u00e9 \ud83d\ude00 tab\t"}]}],"usage":{"input_tokens":900,"input_tokens_details":{"cached_tokens":100},"output_tokens":60,"output_tokens_details":{"reasoning_tokens":10},"total_tokens":960}}}"#,
        #"{ "model" : "m\u00fcller" , "usage" : { "input_tokens" : 1.0e3 , "output_tokens" : -0 , "extra" : [ true , false , null , [ ] , { } , -12.5E-3 ] } }"#,
        #"{"model":null,"usage":null,"message":"text, not an object","response":[1,2]}"#,
        #"{"usage":{"input_tokens":"12","output_tokens":true}}"#,
        #"{}"#,
    ]

    /// What the meter reads, by Foundation, as it did before.
    static func foundation(_ text: String) -> [String: String]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return nil
        }
        var out: [String: String] = [:]
        func collect(_ object: [String: Any], _ prefix: String) {
            if let message = object["message"] as? [String: Any] { collect(message, prefix + "message.") }
            if let response = object["response"] as? [String: Any] { collect(response, prefix + "response.") }
            if let model = object["model"] as? String { out[prefix + "model"] = model }
            guard let usage = object["usage"] as? [String: Any] else { return }
            for key in [
                "input_tokens", "prompt_tokens", "output_tokens", "completion_tokens", "cache_read_input_tokens",
                "cache_creation_input_tokens",
            ] {
                // A JSON true/false is an NSNumber too ("c", a char); the meter counts only numbers.
                if let n = usage[key] as? NSNumber, String(cString: n.objCType) != "c" {
                    out[prefix + key] = "\(n.intValue)"
                }
            }
            let details =
                (usage["prompt_tokens_details"] as? [String: Any]) ?? (usage["input_tokens_details"] as? [String: Any])
            if let n = details?["cached_tokens"] as? NSNumber { out[prefix + "cached_tokens"] = "\(n.intValue)" }
        }
        collect(object, "")
        return out
    }

    /// The same, by the meter's reader.
    static func ours(_ text: String) -> [String: String]? {
        guard let event = Array(text.utf8).withUnsafeBytes({ UsageJSON.read($0) }) else { return nil }
        var out: [String: String] = [:]
        func collect(_ event: UsageJSON, _ prefix: String) {
            if let message = event.message { collect(message.value, prefix + "message.") }
            if let response = event.response { collect(response.value, prefix + "response.") }
            if let model = event.model { out[prefix + "model"] = model }
            guard let usage = event.usage else { return }
            let fields: [(String, Int?)] = [
                ("input_tokens", usage.inputTokens), ("prompt_tokens", usage.promptTokens),
                ("output_tokens", usage.outputTokens), ("completion_tokens", usage.completionTokens),
                ("cache_read_input_tokens", usage.cacheReadInputTokens),
                ("cache_creation_input_tokens", usage.cacheCreationInputTokens), ("cached_tokens", usage.cachedTokens),
            ]
            for (key, value) in fields { if let value { out[prefix + key] = "\(value)" } }
        }
        collect(event, "")
        return out
    }

    @Test(arguments: events) func readsWhatFoundationReads(_ event: String) throws {
        let expected = try #require(Self.foundation(event), "Foundation reads the sample")
        #expect(Self.ours(event) == expected)
    }

    @Test(arguments: events) func refusesEveryCutOfAnEventAsFoundationDoes(_ event: String) {
        let bytes = Array(event.utf8)
        for end in 0..<bytes.count {
            let cut = String(decoding: bytes[..<end], as: UTF8.self)
            #expect(Self.ours(cut) == nil, "accepted a cut event: \(cut)")
        }
    }

    @Test func refusesWhatIsNotJSON() {
        for text in [
            #"{"usage":{"input_tokens":01}}"#, #"{"model":"a\x"}"#, #"{"model":"\u12"}"#, "{\"model\":\"a\u{1}\"}",
            #"{"a":1,}"#, #"{"a" 1}"#, #"{"a":tru}"#, #"{"a":1} x"#, #"{'a':1}"#, #"{"a":-}"#, #"{"a":1.}"#,
            #"{"a":1e}"#, #"{"a":[1,]}"#, String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        ] {
            #expect(Self.ours(text) == nil, "accepted: \(text.prefix(40))")
        }
        #expect(Self.ours("[DONE]") == nil)
        #expect(Self.ours(#"[1, "two"]"#) == [:], "valid JSON that is no object holds nothing")
    }
}
