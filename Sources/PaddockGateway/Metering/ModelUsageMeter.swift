import Foundation
import NIOCore
import PaddockCore

/// Reads token usage out of a model API response as it passes through the gateway, without holding it back:
/// every byte is forwarded as it arrives, and the meter only looks. Server-sent events are read line by line
/// (Anthropic's `message_start`/`message_delta`, OpenAI's final chunk with `stream_options.include_usage`, the
/// Responses API's `response.completed`); a whole JSON body is copied aside (up to `maxJSONBody`) and read at its
/// end. A value type with no I/O, driven by the proxy state machine.
struct ModelUsageMeter {
    enum API: String {
        case anthropicMessages = "anthropic.messages"
        case openAIChat = "openai.chat_completions"
        case openAIResponses = "openai.responses"

        /// OpenAI counts cached tokens inside the input; Anthropic counts them apart.
        var inputIncludesCache: Bool { self != .anthropicMessages }
    }

    /// A JSON body larger than this is not read (its call is counted, unmetered); real usage answers are a few KiB.
    static let maxJSONBody = 4 << 20
    /// An event line longer than this is skipped unread (a huge text delta never carries usage).
    static let maxLine = 1 << 20

    /// The API a request speaks, by method and path: any host answering these paths (Anthropic, OpenAI, and the
    /// many OpenAI-compatible servers) is metered.
    static func api(method: String, path: String) -> API? {
        guard method == "POST" else { return nil }
        let bare = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        if bare.hasSuffix("/v1/messages") { return .anthropicMessages }
        if bare.hasSuffix("/chat/completions") { return .openAIChat }
        if bare.hasSuffix("/v1/responses") { return .openAIResponses }
        return nil
    }

    let api: API
    private var streaming = false
    private var readable = true
    private var json: [UInt8] = []
    private var line: [UInt8] = []
    private var skippingLine = false
    private var model: String?
    private var tokens = TokenUsage()
    private var sawUsage = false

    init(api: API) { self.api = api }

    mutating func head(contentType: String?, contentEncoding: String?) {
        streaming = contentType?.lowercased().hasPrefix("text/event-stream") ?? false
        if let encoding = contentEncoding?.lowercased(), encoding != "identity" { readable = false }
    }

    mutating func body(_ buffer: ByteBuffer) {
        guard readable else { return }
        if !streaming {
            guard json.count + buffer.readableBytes <= Self.maxJSONBody else {
                readable = false
                json = []
                return
            }
            json.append(contentsOf: buffer.readableBytesView)
            return
        }
        // Whole lines are cut out with one search each, not byte by byte: this runs on every streamed chunk.
        let view = buffer.readableBytesView
        var start = view.startIndex
        while start < view.endIndex {
            guard let newline = view[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                take(view[start...])
                return
            }
            take(view[start..<newline])
            if !skippingLine { event(line) }
            line.removeAll(keepingCapacity: true)
            skippingLine = false
            start = newline + 1
        }
    }

    /// Adds part of a line, unless the line is too long to be worth reading.
    private mutating func take(_ bytes: ByteBufferView.SubSequence) {
        guard !skippingLine else { return }
        guard line.count + bytes.count <= Self.maxLine else {
            skippingLine = true
            line.removeAll(keepingCapacity: true)
            return
        }
        line.append(contentsOf: bytes)
    }

    mutating func end() -> ModelUsage {
        if readable, !streaming, !json.isEmpty { read(json[...]) }
        if readable, streaming, !line.isEmpty, !skippingLine { event(line) }
        return ModelUsage(api: api.rawValue, model: model, tokens: tokens, streamed: streaming, metered: sawUsage)
    }

    /// One line of a server-sent event stream: only `data:` lines that may hold usage (or the first, for the
    /// model's name) are parsed.
    private mutating func event(_ line: [UInt8]) {
        let prefix = Array("data:".utf8)
        guard line.count > prefix.count, line.starts(with: prefix) else { return }
        let payload = line[prefix.count...]
        guard model == nil || Self.mayHoldUsage(payload) else { return }
        read(payload)
    }

    private static let usageKey = Array("\"usage\"".utf8)
    private static let nullUsage = Array("\"usage\":null".utf8)

    static func mayHoldUsage(_ payload: ArraySlice<UInt8>) -> Bool {
        guard payload.firstRange(of: usageKey) != nil else { return false }
        return payload.firstRange(of: nullUsage) == nil || payload.firstRange(of: Array("_tokens".utf8)) != nil
    }

    private mutating func read(_ bytes: ArraySlice<UInt8>) {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: Data(bytes)) } catch {
            // A `[DONE]` marker or a keep-alive is not JSON and holds nothing to read. Usage that cannot be read
            // fails closed: the call is recorded as unmetered ("usage not found", shown beside the agent's own
            // figure) instead of metered with part of its tokens.
            if Self.mayHoldUsage(bytes) { stopMetering() }
            return
        }
        guard let object = parsed as? [String: Any] else { return }
        apply(object)
    }

    /// Reads nothing more of this answer, and reports it unmetered.
    private mutating func stopMetering() {
        readable = false
        sawUsage = false
        json = []
        line = []
    }

    private mutating func apply(_ object: [String: Any]) {
        // Anthropic's message_start nests the message; the Responses API's events nest the response.
        if let message = object["message"] as? [String: Any] { apply(message) }
        if let response = object["response"] as? [String: Any] { apply(response) }
        if model == nil, let name = object["model"] as? String { model = name }
        guard let usage = object["usage"] as? [String: Any] else { return }
        func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }
        let details =
            (usage["prompt_tokens_details"] as? [String: Any]) ?? (usage["input_tokens_details"] as? [String: Any])
        let cached = int(details?["cached_tokens"])
        if let input = int(usage["input_tokens"]) ?? int(usage["prompt_tokens"]) {
            tokens.input = api.inputIncludesCache ? max(0, input - (cached ?? 0)) : input
            sawUsage = true
        }
        if let output = int(usage["output_tokens"]) ?? int(usage["completion_tokens"]) {
            // Anthropic's message_delta repeats the running total: the last one is the call's.
            tokens.output = output
            sawUsage = true
        }
        if let read = int(usage["cache_read_input_tokens"]) ?? cached { tokens.cacheRead = read }
        if let write = int(usage["cache_creation_input_tokens"]) { tokens.cacheWrite = write }
    }
}
