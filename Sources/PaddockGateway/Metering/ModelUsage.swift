import PaddockCore

/// What one model call used, read by the gateway from the response itself (no agent cooperation). Never holds
/// the prompt or the completion: only the model's name and the token counts.
public struct ModelUsage: Sendable, Codable, Equatable {
    /// `anthropic.messages`, `openai.chat_completions` or `openai.responses`.
    public var api: String
    public var model: String?
    public var tokens: TokenUsage
    public var streamed: Bool
    /// False when the response carried no usage the gateway could read (an error, a stream without
    /// `stream_options.include_usage`, a compressed body): the call is counted, its tokens are not known.
    public var metered: Bool

    public init(api: String, model: String?, tokens: TokenUsage, streamed: Bool, metered: Bool) {
        self.api = api
        self.model = model
        self.tokens = tokens
        self.streamed = streamed
        self.metered = metered
    }
}
