/// A value in an audit event's fields: the JSON shapes without floating point, so an event's bytes are the
/// same however often it is encoded.
public enum AuditValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case list([AuditValue])
    case object([String: AuditValue])
    case null

    public init(from decoder: any Decoder) throws {
        // JSON's kinds do not overlap (a string never decodes as a number or a bool), so the order only decides
        // how many failed attempts a value costs: the commonest kinds are tried first, as a failed attempt (an
        // error thrown and dropped) was most of the time it took to read a long trail.
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let s = try c.decodeIfKind(String.self) {
            self = .string(s)
        } else if let i = try c.decodeIfKind(Int64.self) {
            self = .int(i)
        } else if let b = try c.decodeIfKind(Bool.self) {
            self = .bool(b)
        } else if let l = try c.decodeIfKind([AuditValue].self) {
            self = .list(l)
        } else {
            self = .object(try c.decode([String: AuditValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .bool(let b): try c.encode(b)
        case .list(let l): try c.encode(l)
        case .object(let o): try c.encode(o)
        case .null: try c.encodeNil()
        }
    }

    public var description: String {
        switch self {
        case .string(let s): s
        case .int(let i): String(i)
        case .bool(let b): String(b)
        case .list(let l): "[" + l.map(\.description).joined(separator: ", ") + "]"
        case .object(let o):
            "{" + o.keys.sorted().map { "\($0): \(o[$0]?.description ?? "")" }.joined(separator: ", ") + "}"
        case .null: "-"
        }
    }
}

extension AuditValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    public static func strings(_ values: [String]) -> AuditValue { .list(values.map { .string($0) }) }
    public static func optional(_ value: String?) -> AuditValue { value.map { .string($0) } ?? .null }
}

extension SingleValueDecodingContainer {
    /// The value as `T`, or nil when the JSON here is of another kind (`Codable` can learn a value's kind only
    /// by trying). Any other failure — a number too large, a broken document — is thrown, not taken for a miss.
    func decodeIfKind<T: Decodable>(_ type: T.Type) throws -> T? {
        do { return try decode(type) } catch DecodingError.typeMismatch { return nil }
    }
}
