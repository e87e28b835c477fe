/// The few fields of a model API's JSON event where usage lives — `model`, `usage` (and the `message` or
/// `response` object Anthropic's and the Responses API's events nest them in) — read in one pass over the bytes
/// where they lie. Everything else is checked to be well-formed JSON and skipped without being built.
///
/// Why not Foundation: this runs on the response path of every metered model call, and `JSONSerialization`
/// builds every value of the event as Foundation objects — 19 µs for a message's two usage events on this
/// 2-core host (loaded), where this reads the same fields in 3.5 µs (`JSONDecoder` took 40 µs).
/// Anything that is not valid JSON is `nil`, as Foundation would refuse it (the meter then fails closed).
struct UsageJSON: Equatable {
    var model: String?
    var usage: Counts?
    var message: Nested?
    var response: Nested?

    /// `usage`'s token counts, under either vendor's names.
    struct Counts: Equatable {
        var inputTokens: Int?
        var promptTokens: Int?
        var outputTokens: Int?
        var completionTokens: Int?
        var cacheReadInputTokens: Int?
        var cacheCreationInputTokens: Int?
        /// `prompt_tokens_details.cached_tokens` or `input_tokens_details.cached_tokens`.
        var cachedTokens: Int?
    }

    /// A nested event object (boxed: a struct cannot hold itself).
    final class Nested: Equatable {
        let value: UsageJSON
        init(_ value: UsageJSON) { self.value = value }
        static func == (a: Nested, b: Nested) -> Bool { a.value == b.value }
    }

    /// The fields of a JSON object; nil when the bytes are not one valid JSON value, or the value is no object.
    static func read(_ bytes: UnsafeRawBufferPointer) -> UsageJSON? {
        var reader = Reader(bytes: bytes)
        reader.whitespace()
        guard reader.peek == UInt8(ascii: "{") else {
            // Valid JSON that is not an object holds no usage; invalid JSON is refused.
            return reader.skipValue(depth: 0) && reader.atEnd ? UsageJSON() : nil
        }
        guard let event = reader.event(depth: 0), reader.atEnd else { return nil }
        return event
    }
}

/// A cursor over JSON bytes. Every function returns false or nil at the first byte that is not valid JSON.
private struct Reader {
    let bytes: UnsafeRawBufferPointer
    var at = 0

    /// Deeper nesting is refused (as Foundation's reader does), so no input can exhaust the stack.
    static let maxDepth = 512

    var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

    var atEnd: Bool {
        mutating get {
            whitespace()
            return at == bytes.count
        }
    }

    mutating func whitespace() {
        while let b = peek, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { at += 1 }
    }

    mutating func expect(_ byte: UInt8) -> Bool {
        whitespace()
        guard peek == byte else { return false }
        at += 1
        return true
    }

    /// An object, keeping the fields usage lives in.
    mutating func event(depth: Int) -> UsageJSON? {
        var event = UsageJSON()
        let ok = members(depth: depth) { reader, key in
            switch key {
            case "model":
                reader.whitespace()
                if reader.peek == UInt8(ascii: "\"") {
                    guard let name = reader.string() else { return false }
                    event.model = name
                    return true
                }
                event.model = nil
                return reader.skipValue(depth: depth + 1)
            case "usage": return reader.counts(into: &event.usage, depth: depth + 1)
            case "message", "response":
                reader.whitespace()
                guard reader.peek == UInt8(ascii: "{") else {
                    if key == "message" { event.message = nil } else { event.response = nil }
                    return reader.skipValue(depth: depth + 1)
                }
                guard let nested = reader.event(depth: depth + 1) else { return false }
                if key == "message" { event.message = .init(nested) } else { event.response = .init(nested) }
                return true
            default: return reader.skipValue(depth: depth + 1)
            }
        }
        return ok ? event : nil
    }

    /// A `usage` value: an object of counts, or anything else (`null`), which sets none.
    mutating func counts(into counts: inout UsageJSON.Counts?, depth: Int) -> Bool {
        whitespace()
        guard peek == UInt8(ascii: "{") else {
            counts = nil
            return skipValue(depth: depth)
        }
        var found = UsageJSON.Counts()
        let ok = members(depth: depth) { reader, key in
            switch key {
            case "input_tokens": return reader.integer(&found.inputTokens, depth: depth + 1)
            case "prompt_tokens": return reader.integer(&found.promptTokens, depth: depth + 1)
            case "output_tokens": return reader.integer(&found.outputTokens, depth: depth + 1)
            case "completion_tokens": return reader.integer(&found.completionTokens, depth: depth + 1)
            case "cache_read_input_tokens": return reader.integer(&found.cacheReadInputTokens, depth: depth + 1)
            case "cache_creation_input_tokens":
                return reader.integer(&found.cacheCreationInputTokens, depth: depth + 1)
            case "prompt_tokens_details", "input_tokens_details":
                reader.whitespace()
                guard reader.peek == UInt8(ascii: "{") else { return reader.skipValue(depth: depth + 1) }
                return reader.members(depth: depth + 1) { inner, key in
                    key == "cached_tokens"
                        ? inner.integer(&found.cachedTokens, depth: depth + 2) : inner.skipValue(depth: depth + 2)
                }
            default: return reader.skipValue(depth: depth + 1)
            }
        }
        counts = found
        return ok
    }

    /// `{ "key": value, … }`, handing each key to `member`, which reads its value.
    mutating func members(depth: Int, _ member: (inout Reader, String) -> Bool) -> Bool {
        guard depth < Self.maxDepth, expect(UInt8(ascii: "{")) else { return false }
        whitespace()
        if peek == UInt8(ascii: "}") {
            at += 1
            return true
        }
        while true {
            whitespace()
            guard let key = string(), expect(UInt8(ascii: ":")), member(&self, key) else { return false }
            whitespace()
            switch peek {
            case UInt8(ascii: ","): at += 1
            case UInt8(ascii: "}"):
                at += 1
                return true
            default: return false
            }
        }
    }

    /// A number where a count is expected: an integer (a fraction is cut, as `NSNumber.intValue` does); any
    /// other value sets none.
    mutating func integer(_ into: inout Int?, depth: Int) -> Bool {
        whitespace()
        guard let b = peek, b == UInt8(ascii: "-") || (b >= 0x30 && b <= 0x39) else {
            into = nil
            return skipValue(depth: depth)
        }
        let start = at
        guard number() else { return false }
        let token = UnsafeRawBufferPointer(rebasing: bytes[start..<at])
        var whole = 0
        var negative = false
        var exact = true
        for (i, d) in token.enumerated() {
            if i == 0, d == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard d >= 0x30, d <= 0x39 else {
                exact = false
                break
            }
            let (times, o1) = whole.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int(d - 0x30))
            guard !o1, !o2 else {
                exact = false
                break
            }
            whole = sum
        }
        if exact {
            into = negative ? -whole : whole
        } else {
            let text = String(decoding: token, as: UTF8.self)
            guard let value = Double(text), value.isFinite, abs(value) < 9.0e18 else {
                into = nil
                return true
            }
            into = Int(value)
        }
        return true
    }

    /// Any value, checked and skipped.
    mutating func skipValue(depth: Int) -> Bool {
        guard depth < Self.maxDepth else { return false }
        whitespace()
        guard let b = peek else { return false }
        switch b {
        case UInt8(ascii: "{"): return members(depth: depth) { reader, _ in reader.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            at += 1
            whitespace()
            if peek == UInt8(ascii: "]") {
                at += 1
                return true
            }
            while true {
                guard skipValue(depth: depth + 1) else { return false }
                whitespace()
                switch peek {
                case UInt8(ascii: ","): at += 1
                case UInt8(ascii: "]"):
                    at += 1
                    return true
                default: return false
                }
            }
        case UInt8(ascii: "\""): return skipString()
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number()
        }
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard at + count <= bytes.count else { return false }
        for i in 0..<count where bytes[at + i] != word.utf8Start[i] { return false }
        at += count
        return true
    }

    /// A JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func number() -> Bool {
        if peek == UInt8(ascii: "-") { at += 1 }
        guard let first = peek, first >= 0x30, first <= 0x39 else { return false }
        at += 1
        if first != 0x30 { digits() }
        if peek == UInt8(ascii: ".") {
            at += 1
            guard digits() > 0 else { return false }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            at += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { at += 1 }
            guard digits() > 0 else { return false }
        }
        return true
    }

    @discardableResult
    mutating func digits() -> Int {
        let start = at
        while let b = peek, b >= 0x30, b <= 0x39 { at += 1 }
        return at - start
    }

    /// A string, checked and skipped.
    mutating func skipString() -> Bool { scanString(decoding: false) != nil }

    /// A string's text, escapes decoded.
    mutating func string() -> String? { scanString(decoding: true) }

    /// The text is built only when asked for; a string without escapes is decoded in one go.
    mutating func scanString(decoding: Bool) -> String? {
        guard peek == UInt8(ascii: "\"") else { return nil }
        at += 1
        let start = at
        var escaped = false
        while true {
            guard let b = peek else { return nil }
            if b == UInt8(ascii: "\"") { break }
            guard b >= 0x20 else { return nil }  // control characters must be escaped
            if b == UInt8(ascii: "\\") {
                escaped = true
                at += 1
                guard let e = peek else { return nil }
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    at += 1
                case UInt8(ascii: "u"):
                    guard at + 4 < bytes.count, (1...4).allSatisfy({ Self.isHex(bytes[at + $0]) }) else { return nil }
                    at += 5
                default: return nil
                }
                continue
            }
            at += 1
        }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<at])
        at += 1
        guard decoding else { return "" }
        return escaped ? Self.unescape(raw) : String(decoding: raw, as: UTF8.self)
    }

    static func isHex(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }

    /// A string's escapes, already checked by `scanString`, decoded (surrogate pairs included).
    static func unescape(_ raw: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var units: [UInt16] = []
        var i = 0
        func flushUnits() {
            guard !units.isEmpty else { return }
            out.append(contentsOf: Array(String(decoding: units, as: UTF16.self).utf8))
            units.removeAll()
        }
        while i < raw.count {
            let b = raw[i]
            guard b == UInt8(ascii: "\\") else {
                flushUnits()
                out.append(b)
                i += 1
                continue
            }
            let e = raw[i + 1]
            i += 2
            if e == UInt8(ascii: "u") {
                let hex = String(decoding: UnsafeRawBufferPointer(rebasing: raw[i..<i + 4]), as: UTF8.self)
                units.append(UInt16(hex, radix: 16) ?? 0xFFFD)
                i += 4
                continue
            }
            flushUnits()
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            default: out.append(e)
            }
        }
        flushUnits()
        return String(decoding: out, as: UTF8.self)
    }
}
