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
        // This runs on the response path of every streamed chunk: lines are found with memchr and read where they
        // lie in the buffer; only a line cut by the chunk's end is copied aside, and only lines that may hold
        // usage (or the first, for the model's name) are parsed.
        buffer.withUnsafeReadableBytes { scan($0) }
    }

    private mutating func scan(_ bytes: UnsafeRawBufferPointer) {
        var start = 0
        // A line that could not be read stops the metering (`stopMetering`); nothing after it is looked at.
        while start < bytes.count, readable {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
            guard let newline = Self.newline.withUnsafeBytes({ ByteSearch.firstOffset(of: $0, in: rest) }) else {
                take(rest)
                return
            }
            let piece = UnsafeRawBufferPointer(rebasing: rest[..<newline])
            if line.isEmpty, !skippingLine {
                event(piece)
            } else {
                take(piece)
                if !skippingLine { endHeldLine() }
            }
            line.removeAll(keepingCapacity: true)
            skippingLine = false
            start += newline + 1
        }
    }

    /// Reads the line held from earlier chunks (moved out for the read, so the meter can change while it runs).
    private mutating func endHeldLine() {
        var held: [UInt8] = []
        swap(&held, &line)
        held.withUnsafeBytes { event($0) }
        held.removeAll(keepingCapacity: true)
        swap(&held, &line)
    }

    /// Adds part of a line, unless the line is too long to be worth reading.
    private mutating func take(_ bytes: UnsafeRawBufferPointer) {
        guard !skippingLine else { return }
        guard line.count + bytes.count <= Self.maxLine else {
            skippingLine = true
            line.removeAll(keepingCapacity: true)
            return
        }
        line.append(contentsOf: bytes)
    }

    mutating func end() -> ModelUsage {
        if readable, !streaming, !json.isEmpty {
            let body = json
            body.withUnsafeBytes { read($0) }
        }
        if readable, streaming, !line.isEmpty, !skippingLine { endHeldLine() }
        return ModelUsage(api: api.rawValue, model: model, tokens: tokens, streamed: streaming, metered: sawUsage)
    }

    private static let newline: [UInt8] = [UInt8(ascii: "\n")]
    private static let dataPrefix = Array("data:".utf8)

    /// One line of a server-sent event stream: only `data:` lines that may hold usage (or the first, for the
    /// model's name) are parsed.
    private mutating func event(_ line: UnsafeRawBufferPointer) {
        let prefix = Self.dataPrefix.count
        guard line.count > prefix, line.prefix(prefix).elementsEqual(Self.dataPrefix) else { return }
        let payload = UnsafeRawBufferPointer(rebasing: line[prefix...])
        guard model == nil || Self.mayHoldUsage(payload) else { return }
        read(payload)
    }

    private static let usageKey = Array("\"usage\"".utf8)
    private static let nullUsage = Array("\"usage\":null".utf8)
    private static let tokensKey = Array("_tokens".utf8)

    static func mayHoldUsage(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard ByteSearch.contains(usageKey, in: payload) else { return false }
        return !ByteSearch.contains(nullUsage, in: payload) || ByteSearch.contains(tokensKey, in: payload)
    }

    private mutating func read(_ bytes: UnsafeRawBufferPointer) {
        guard let event = UsageJSON.read(bytes) else {
            // A `[DONE]` marker or a keep-alive is not JSON and holds nothing to read. Usage that cannot be read
            // fails closed: the call is recorded as unmetered ("usage not found", shown beside the agent's own
            // figure) instead of metered with part of its tokens.
            if Self.mayHoldUsage(bytes) { stopMetering() }
            return
        }
        apply(event)
    }

    /// Reads nothing more of this answer, and reports it unmetered.
    private mutating func stopMetering() {
        readable = false
        sawUsage = false
        json = []
        line = []
    }

    private mutating func apply(_ event: UsageJSON) {
        // Anthropic's message_start nests the message; the Responses API's events nest the response.
        if let message = event.message { apply(message.value) }
        if let response = event.response { apply(response.value) }
        if model == nil, let name = event.model { model = name }
        guard let usage = event.usage else { return }
        if let input = usage.inputTokens ?? usage.promptTokens {
            tokens.input = api.inputIncludesCache ? max(0, input - (usage.cachedTokens ?? 0)) : input
            sawUsage = true
        }
        if let output = usage.outputTokens ?? usage.completionTokens {
            // Anthropic's message_delta repeats the running total: the last one is the call's.
            tokens.output = output
            sawUsage = true
        }
        if let read = usage.cacheReadInputTokens ?? usage.cachedTokens { tokens.cacheRead = read }
        if let write = usage.cacheCreationInputTokens { tokens.cacheWrite = write }
    }
}
