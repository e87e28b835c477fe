/// A runtime.yml a client sent with a session (`--policy FILE`): the text, which the server
/// re-parses and validates (`GuardrailService`).
public struct PolicyText: Sendable, Codable, Equatable {
    public var text: String
    /// The name errors and rule origins use.
    public var file: String

    public init(text: String, file: String) {
        self.text = text
        self.file = file
    }
}
