import Foundation

/// proto3 JSON mapping helpers: `int64`/`uint64` are strings on output and strings or numbers on input;
/// `bytes` are base64; enums are their names; a `oneof` is the one key that is present.
enum ProtoJSON {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    static func decoder() -> JSONDecoder { JSONDecoder() }

    /// Decodes a message; any mismatch is a Connect `invalid_argument` naming the field.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(ConnectError) -> T {
        // An empty body is the empty message.
        let data = bytes.isEmpty ? Data("{}".utf8) : Data(bytes)
        let decoder = decoder()
        do { return try decoder.decode(T.self, from: data) } catch let error as DecodingError {
            if let finding = JSONNumberDiagnosis.diagnose(T.self, data: data, decoder: decoder) {
                throw ConnectError(.invalidArgument, "the request message is not valid: \(finding.message)")
            }
            throw ConnectError(.invalidArgument, "the request message is not valid: \(describe(error))")
        } catch {
            throw ConnectError(.invalidArgument, "the request message is not valid JSON")
        }
    }

    static func encode(_ value: some Encodable) throws -> [UInt8] { Array(try encoder().encode(value)) }

    static func describe(_ error: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : " at '\(p)'"
        }
        switch error {
        case .dataCorrupted(let c): return "malformed JSON\(path(c))"
        case .keyNotFound(let key, let c): return "missing field '\(key.stringValue)'\(path(c))"
        case .typeMismatch(let t, let c): return "expected \(t)\(path(c))"
        case .valueNotFound(let t, let c): return "expected \(t)\(path(c)) but found null"
        @unknown default: return "\(error)"
        }
    }
}

/// A proto3 `int64`: written as a JSON string, read from a string or a number.
struct ProtoInt64: Codable, Equatable, Sendable, ExpressibleByIntegerLiteral {
    var value: Int64

    init(_ value: Int64) { self.value = value }
    init(integerLiteral value: Int64) { self.value = value }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int64.self) {
            value = n
        } else {
            let text = try c.decode(String.self)
            guard let n = Int64(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not an int64")
            }
            value = n
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(String(value))
    }
}

/// A proto3 `bytes` field: base64 in JSON (standard or URL-safe alphabet, padding optional on input).
struct ProtoBytes: Codable, Equatable, Sendable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let decoded = Self.decodeBase64(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not base64")
        }
        bytes = decoded
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Data(bytes).base64EncodedString())
    }

    static func decodeBase64(_ text: String) -> [UInt8]? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s.append("=") }
        return Data(base64Encoded: s).map(Array.init)
    }
}

/// A proto3 enum read by name or number; unknown values decode as the zero value's name.
protocol ProtoEnum: Codable, Sendable {
    static var names: [Int: String] { get }
    var rawValue: String { get }
    init(rawValue: String)
}

extension ProtoEnum {
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) {
            self.init(rawValue: Self.names[n] ?? Self.names[0] ?? "")
        } else {
            let name = try c.decode(String.self)
            self.init(rawValue: Self.names.values.contains(name) ? name : (Self.names[0] ?? name))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    var number: Int { Self.names.first { $0.value == rawValue }?.key ?? 0 }
}

/// `google.protobuf.Timestamp` in JSON: RFC 3339 in UTC with nanoseconds.
enum ProtoTimestamp {
    static func format(nanosecondsSinceEpoch nanos: Int64) -> String {
        let seconds = nanos >= 0 ? nanos / 1_000_000_000 : (nanos - 999_999_999) / 1_000_000_000
        let fraction = nanos - seconds * 1_000_000_000
        let date = Date(timeIntervalSince1970: TimeInterval(seconds))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let base = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1, c.hour ?? 0,
            c.minute ?? 0, c.second ?? 0)
        return fraction == 0 ? base + "Z" : base + String(format: ".%09lldZ", fraction)
    }
}
