import PaddockCore

/// A problem in a runtime.yml, pinned to its file, line and column, with what to write instead.
///
/// Loading reports every problem it finds, not just the first: the first is this error's own location and
/// message, the rest are in `additionalErrors`, all in file order.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based.
    public var line: Int
    /// 1-based, counted in Unicode scalars (as YAML counts them).
    public var column: Int
    public var message: String
    /// Further problems in the same file, in file order.
    public var additionalErrors: [ConfigError]

    public init(file: String, line: Int, column: Int, message: String, additionalErrors: [ConfigError] = []) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.additionalErrors = additionalErrors
    }

    /// Every problem, this one first.
    public var all: [ConfigError] {
        var first = self
        first.additionalErrors = []
        return [first] + additionalErrors.flatMap(\.all)
    }

    /// `runtime.yml:12:5: unknown key 'comands' in guardrails; did you mean 'commands'?` — one line per problem,
    /// in the form editors and CI annotate.
    public var description: String {
        all.map { "\($0.file):\($0.line):\($0.column): \($0.message)" }.joined(separator: "\n")
    }

    /// The same problems as the project's one error type, for the API and the CLI.
    public var paddockError: PaddockError { .invalidArgument(description) }
}
