/// Reads an audit event's stored JSON straight into `AuditValue`s. A page reads a session's whole trail at
/// once (thousands of events), and going through `Codable` — which can only learn a value's JSON kind by trying
/// each kind in turn — was most of the time it took. The trail is JSON that Paddock itself wrote, without
/// floating point; anything this reader does not expect makes it give up (nil), and the caller falls back to
/// `JSONDecoder`, so it never decides what an event says on its own.
struct AuditJSONReader {
    private let bytes: [UInt8]
    private var i = 0

    /// The document as a value, or nil when it is not the JSON this reader knows.
    static func read(_ bytes: [UInt8]) -> AuditValue? {
        var reader = AuditJSONReader(bytes: bytes)
        guard let value = reader.value() else { return nil }
        reader.skipSpace()
        return reader.i == bytes.count ? value : nil
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
    }

    private mutating func value() -> AuditValue? {
        skipSpace()
        guard i < bytes.count else { return nil }
        switch bytes[i] {
        case UInt8(ascii: "\""): return string().map(AuditValue.string)
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return list()
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return integer()
        }
    }

    private mutating func literal(_ word: String, _ value: AuditValue) -> AuditValue? {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { return nil }
        i += w.count
        return value
    }

    private mutating func integer() -> AuditValue? {
        let start = i
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1 }
        // A fraction or an exponent is not something Paddock writes into a trail: let Codable judge it.
        if i < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[i]) { return nil }
        guard i > start, let n = Int64(String(decoding: bytes[start..<i], as: UTF8.self)) else { return nil }
        return .int(n)
    }

    private mutating func list() -> AuditValue? {
        i += 1
        var items: [AuditValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            return .list(items)
        }
        while true {
            guard let item = value() else { return nil }
            items.append(item)
            skipSpace()
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .list(items)
            }
            guard bytes[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
    }

    private mutating func object() -> AuditValue? {
        i += 1
        var members: [String: AuditValue] = [:]
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), let key = string() else { return nil }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            guard let member = value() else { return nil }
            members[key] = member
            skipSpace()
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(members)
            }
            guard bytes[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
    }

    /// A string from its opening quote; escapes decoded, including `\u` surrogate pairs.
    private mutating func string() -> String? {
        i += 1
        let start = i
        // The common case: no escape at all, so the bytes are the string.
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") { i += 1 }
        guard i < bytes.count else { return nil }
        if bytes[i] == UInt8(ascii: "\"") {
            defer { i += 1 }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }
        var out = Array(bytes[start..<i])
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else { return nil }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard var scalar = hex4() else { return nil }
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by `\u` and a low one.
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u")
                    else { return nil }
                    i += 2
                    guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { return nil }
                out += Array(String(Character(unicode)).utf8)
            default: return nil
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard i + 4 <= bytes.count, let n = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16)
        else { return nil }
        i += 4
        return n
    }
}

extension AuditEvent {
    /// The event from its stored object, or nil when a member is missing or of another kind.
    init?(reading value: AuditValue) {
        guard case .object(let o) = value, case .string(let session)? = o["session"],
            let id = SessionID(rawValue: session), case .int(let seq)? = o["seq"], case .int(let at)? = o["at"],
            case .string(let kind)? = o["kind"], case .object(let actor)? = o["actor"],
            case .string(let user)? = actor["user"], case .object(let fields)? = o["fields"],
            case .string(let prev)? = o["prev"]
        else { return nil }
        let token: String?
        switch actor["token"] {
        case .string(let t)?: token = t
        case nil, .null?: token = nil
        default: return nil
        }
        self.init(
            session: id, seq: seq, at: at, kind: kind, actor: AuditActor(user: user, token: token), fields: fields,
            prev: prev)
    }
}
