import Foundation

/// A JSON document as a value: what an event is to the filters, the prompt template and the history. Events
/// come from outside, so every shape decodes (numbers keep their text, so ids never lose digits).
public enum JSONDocument: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONDocument])
    case object([String: JSONDocument])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try c.decodeIfKind(Bool.self) {
            self = .bool(b)
        } else if let s = try c.decodeIfKind(String.self) {
            self = .string(s)
        } else if let d = try c.decodeIfKind(Decimal.self) {
            self = .number("\(d)")
        } else if let a = try c.decodeIfKind([JSONDocument].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONDocument].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(Decimal(string: n) ?? 0)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Parses a JSON document; an event body that is not JSON is refused with what to send instead.
    public static func parse(_ data: Data) throws(PaddockError) -> JSONDocument {
        do { return try JSONDecoder().decode(JSONDocument.self, from: data) } catch {
            throw .invalidArgument(
                "the event is not a JSON document; send a JSON object (Content-Type: application/json)")
        }
    }

    /// Compact JSON text, keys sorted. Written directly rather than through `JSONEncoder`: every case has one
    /// spelling, so nothing can fail, and a number keeps the digits it came with.
    public var jsonText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n
        case .string(let s): return Self.quoted(s)
        case .array(let a): return "[" + a.map(\.jsonText).joined(separator: ",") + "]"
        case .object(let o):
            return "{"
                + o.keys.sorted().map { Self.quoted($0) + ":" + (o[$0] ?? .null).jsonText }.joined(separator: ",")
                + "}"
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, the rest as it is.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The text a template shows: strings as they are, other values as JSON, null as nothing.
    public var text: String {
        switch self {
        case .null: ""
        case .string(let s): s
        case .bool(let b): b ? "true" : "false"
        case .number(let n): n
        case .array, .object: jsonText
        }
    }

    /// The value at a dotted path (`alert.title`, `items.0.name`), or nil.
    public subscript(path: JSONPath) -> JSONDocument? {
        var value = self
        for part in path.parts {
            switch value {
            case .object(let o):
                guard let next = o[part] else { return nil }
                value = next
            case .array(let a):
                guard let i = Int(part), a.indices.contains(i) else { return nil }
                value = a[i]
            default: return nil
            }
        }
        return value
    }

    /// Names of keys whose values are replaced by `[redacted]` in stored events: signatures, tokens, passwords.
    static let secretKeyWords = [
        "token", "secret", "password", "signature", "authorization", "api_key", "apikey", "cookie",
    ]

    /// The event as the history keeps it: values under keys that name secrets replaced by `[redacted]`.
    public func redacted() -> JSONDocument {
        switch self {
        case .object(let o):
            var out: [String: JSONDocument] = [:]
            for (key, value) in o {
                let lower = key.lowercased()
                out[key] =
                    Self.secretKeyWords.contains(where: lower.contains) ? .string("[redacted]") : value.redacted()
            }
            return .object(out)
        case .array(let a): return .array(a.map { $0.redacted() })
        default: return self
        }
    }
}

/// A dotted path into a JSON document: `payload.alert.title`, `items.0.name`.
public struct JSONPath: Sendable, Equatable, CustomStringConvertible {
    public let parts: [String]

    public init(_ text: String) throws(PaddockError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 256,
            parts.allSatisfy({ !$0.isEmpty && !$0.contains(where: { "{} \t\n\"'".contains($0) }) })
        else {
            throw .invalidArgument(
                "'\(InputLimits.printable(text))' is not a JSON path; write keys joined by dots, array indexes as "
                    + "numbers: event.text, payload.alert.title, items.0.name")
        }
        self.parts = parts
    }

    /// A path written in code as its keys (`JSONPath(keys: ["event", "user"])`): nothing to validate.
    public init(keys: [String]) { parts = keys }

    public var description: String { parts.joined(separator: ".") }
}
