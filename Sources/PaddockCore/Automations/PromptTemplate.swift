/// A prompt with `{{dotted.json.path}}` placeholders filled from the event.
///
/// Our own filler rather than swift-mustache: placeholders here are JSON paths with array indexes
/// (`{{payload.items.0.title}}`) that must show objects and numbers as JSON, nothing may be HTML-escaped (the
/// prompt goes to an agent, not a page), and sections or partials are exactly what an event's author should
/// not be able to reach for. Forty lines do all of that and report the placeholders that found nothing.
public struct PromptTemplate: Sendable, Equatable {
    enum Piece: Sendable, Equatable {
        case text(String)
        case value(JSONPath)
    }

    let pieces: [Piece]

    public init(_ template: String) throws(PaddockError) {
        var pieces: [Piece] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            pieces.append(.text(String(rest[..<open.lowerBound])))
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw .invalidArgument(
                    "the prompt template opens a placeholder with {{ and never closes it; write {{event.text}}")
            }
            pieces.append(.value(try JSONPath(String(rest[open.upperBound..<close.lowerBound]))))
            rest = rest[close.upperBound...]
        }
        pieces.append(.text(String(rest)))
        self.pieces = pieces
    }

    /// The prompt, and the placeholders that found no value in `context` (they are left empty).
    public func fill(_ context: JSONDocument) -> (prompt: String, missing: [String]) {
        var out = ""
        var missing: [String] = []
        for piece in pieces {
            switch piece {
            case .text(let text): out += text
            case .value(let path):
                if let value = context[path], value != .null { out += value.text } else { missing.append("\(path)") }
            }
        }
        return (out, missing)
    }
}

/// One rule an event must satisfy: `path=value` (equal), `path!=value`, `path~text` (contains), or `path`
/// (present and not null/false/empty).
public struct AutomationFilter: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Operation: String, Codable, Sendable {
        case equals, notEquals = "not_equals", contains, exists
    }

    public var path: String
    public var operation: Operation
    public var value: String?

    public init(path: String, operation: Operation, value: String? = nil) {
        self.path = path
        self.operation = operation
        self.value = value
    }

    public init(parsing text: String) throws(PaddockError) {
        if let r = text.range(of: "!=") {
            self.init(path: String(text[..<r.lowerBound]), operation: .notEquals, value: String(text[r.upperBound...]))
        } else if let r = text.range(of: "=") {
            self.init(path: String(text[..<r.lowerBound]), operation: .equals, value: String(text[r.upperBound...]))
        } else if let r = text.range(of: "~") {
            self.init(path: String(text[..<r.lowerBound]), operation: .contains, value: String(text[r.upperBound...]))
        } else {
            self.init(path: text, operation: .exists)
        }
        try validate()
    }

    public func validate() throws(PaddockError) {
        _ = try JSONPath(path)
        guard (operation == .exists) == (value == nil) else {
            throw .invalidArgument(
                "filter on \(path): \(operation.rawValue) \(operation == .exists ? "takes no" : "needs a") value")
        }
        guard (value?.utf8.count ?? 0) <= 1024 else {
            throw .invalidArgument("filter on \(path): the value is over 1 KiB")
        }
    }

    /// Whether the event satisfies the rule. The path was validated when the automation was made; one that no
    /// longer parses (a record changed by hand) is thrown, so the event is refused rather than let through.
    public func matches(_ context: JSONDocument) throws(PaddockError) -> Bool {
        let found = context[try JSONPath(path)]
        switch operation {
        case .exists:
            switch found {
            case nil, .null?, .bool(false)?: return false
            case .string(let s)?: return !s.isEmpty
            default: return true
            }
        case .equals: return found?.text == value
        case .notEquals: return found?.text != value
        case .contains:
            guard let found, let value else { return false }
            return found.text.localizedLowercase.contains(value.localizedLowercase)
        }
    }

    public var description: String {
        switch operation {
        case .equals: "\(path)=\(value ?? "")"
        case .notEquals: "\(path)!=\(value ?? "")"
        case .contains: "\(path)~\(value ?? "")"
        case .exists: path
        }
    }
}
