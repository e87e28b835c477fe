/// The head of an HTTP/1.x request or response as the preview proxy reads it: the start line and the header
/// fields in order, names as sent. Bodies are never parsed, only framed (`framing`). Everything here works on
/// ASCII bytes, not Foundation's Unicode-aware string operations: every request passes through it, and
/// header syntax is ASCII (RFC 9110 §5.5).
struct PreviewHTTPHead: Equatable {
    /// `GET /path HTTP/1.1` or `HTTP/1.1 200 OK`, split on the first two spaces.
    var startLine: [String]
    var fields: [(name: String, value: String)]

    static func == (a: PreviewHTTPHead, b: PreviewHTTPHead) -> Bool {
        a.startLine == b.startLine
            && a.fields.map { "\($0.name):\($0.value)" } == b.fields.map { "\($0.name):\($0.value)" }
    }

    /// Largest head accepted either way.
    static let maxBytes = 64 << 10

    /// The end of the head in `bytes` (the index after its blank line), or nil while it is incomplete.
    static func end(in bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { buffer in
            guard buffer.count >= 4 else { return nil }
            var i = 3
            while i < buffer.count {
                if buffer[i] == 0x0a && buffer[i - 1] == 0x0d && buffer[i - 2] == 0x0a && buffer[i - 3] == 0x0d {
                    return i + 1
                }
                i += 1
            }
            return nil
        }
    }

    /// Parses a complete head (with or without its blank line); nil when it is not HTTP/1.x.
    init?(_ bytes: some Collection<UInt8>) {
        let parsed: (startLine: [String], fields: [(name: String, value: String)])? = Array(bytes)
            .withUnsafeBufferPointer { Self.parse($0) }
        guard let parsed else { return nil }
        startLine = parsed.startLine
        fields = parsed.fields
        guard isRequest || isResponse else { return nil }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> (
        startLine: [String], fields: [(name: String, value: String)]
    )? {
        var lines: [Range<Int>] = []
        var start = 0
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0d && bytes[i + 1] == 0x0a {
                lines.append(start..<i)
                i += 2
                start = i
            } else {
                i += 1
            }
        }
        if start < bytes.count { lines.append(start..<bytes.count) }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let first = lines.first else { return nil }
        // The start line: split on the first two spaces.
        var parts: [String] = []
        var partStart = first.lowerBound
        var j = first.lowerBound
        while j < first.upperBound, parts.count < 2 {
            if bytes[j] == 0x20 {
                parts.append(Self.text(bytes, partStart..<j))
                partStart = j + 1
            }
            j += 1
        }
        parts.append(Self.text(bytes, partStart..<first.upperBound))
        guard parts.count >= 2 else { return nil }
        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(lines.count - 1)
        for line in lines.dropFirst() {
            // Obsolete line folding and fields without a colon are refused, as request smuggling hides in them.
            guard !line.isEmpty, bytes[line.lowerBound] != 0x20, bytes[line.lowerBound] != 0x09 else { return nil }
            var colon = line.lowerBound
            while colon < line.upperBound, bytes[colon] != 0x3a { colon += 1 }
            guard colon < line.upperBound, colon > line.lowerBound else { return nil }
            for k in line.lowerBound..<colon where bytes[k] == 0x20 { return nil }
            var valueStart = colon + 1
            var valueEnd = line.upperBound
            while valueStart < valueEnd, bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09 { valueStart += 1 }
            while valueEnd > valueStart, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            fields.append((Self.text(bytes, line.lowerBound..<colon), Self.text(bytes, valueStart..<valueEnd)))
        }
        return (parts, fields)
    }

    private static func text(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    init(startLine: [String], fields: [(name: String, value: String)]) {
        self.startLine = startLine
        self.fields = fields
    }

    var isRequest: Bool { startLine.count == 3 && startLine[2].hasPrefix("HTTP/1.") }
    var isResponse: Bool { startLine[0].hasPrefix("HTTP/1.") && Int(startLine[1]) != nil }
    var method: String { startLine[0] }
    var target: String {
        get { startLine[1] }
        set { startLine[1] = newValue }
    }
    var version: String { isRequest ? startLine[2] : startLine[0] }
    var status: Int { Int(startLine[1]) ?? 0 }

    func values(_ name: String) -> [String] {
        fields.compactMap { ASCII.equalsIgnoringCase($0.name, name) ? $0.value : nil }
    }
    func value(_ name: String) -> String? {
        fields.first { ASCII.equalsIgnoringCase($0.name, name) }?.value
    }
    /// The comma-separated tokens of a field such as `Connection`, lowercased.
    func tokens(_ name: String) -> Set<String> {
        var tokens = Set<String>()
        for field in fields where ASCII.equalsIgnoringCase(field.name, name) {
            for token in field.value.utf8.split(separator: 0x2c) {
                let trimmed = ASCII.trimmed(token)
                if !trimmed.isEmpty { tokens.insert(ASCII.lowercased(trimmed)) }
            }
        }
        return tokens
    }
    /// Whether the comma-separated field `name` has `token` (lowercase), without building a set.
    func has(_ name: String, token: String) -> Bool {
        for field in fields where ASCII.equalsIgnoringCase(field.name, name) {
            for candidate in field.value.utf8.split(separator: 0x2c)
            where ASCII.equalsIgnoringCase(ASCII.trimmed(candidate), token.utf8) {
                return true
            }
        }
        return false
    }
    /// Removes fields by lowercase name.
    mutating func remove(_ names: Set<String>) { fields.removeAll { names.contains(ASCII.lowercased($0.name)) } }
    mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// Whether the connection may carry another message after this one (HTTP/1.1 unless `close`; 1.0 only
    /// with `keep-alive`).
    var keepsAlive: Bool {
        version == "HTTP/1.1" ? !has("Connection", token: "close") : has("Connection", token: "keep-alive")
    }

    var isWebSocketUpgrade: Bool {
        isRequest && has("Connection", token: "upgrade") && has("Upgrade", token: "websocket")
    }

    var serialized: [UInt8] {
        var size = 4
        for part in startLine { size += part.utf8.count + 1 }
        for field in fields { size += field.name.utf8.count + field.value.utf8.count + 4 }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        for (index, part) in startLine.enumerated() {
            if index > 0 { out.append(0x20) }
            out += part.utf8
        }
        out += [0x0d, 0x0a]
        for field in fields {
            out += field.name.utf8
            out += [0x3a, 0x20]
            out += field.value.utf8
            out += [0x0d, 0x0a]
        }
        out += [0x0d, 0x0a]
        return out
    }

    /// How the body after this head ends.
    enum Framing: Equatable {
        case none
        case length(Int)
        case chunked
        /// Only the connection's close ends it (a response without length).
        case close
        /// Conflicting or unreadable lengths: refused.
        case invalid
    }

    /// The body's framing (RFC 9112 §6.3). `requestMethod` is the request's, for a response.
    func framing(requestMethod: String? = nil) -> Framing {
        if isResponse {
            if requestMethod == "HEAD" || status / 100 == 1 || status == 204 || status == 304 { return .none }
        }
        let encodings = tokens("Transfer-Encoding")
        let lengths = values("Content-Length")
        if !encodings.isEmpty {
            // A length next to chunked is how requests are smuggled: refused, never guessed.
            guard encodings == ["chunked"], lengths.isEmpty else { return .invalid }
            return .chunked
        }
        if let first = lengths.first {
            guard Set(lengths).count == 1, let n = Int(first), n >= 0 else { return .invalid }
            return .length(n)
        }
        return isRequest ? .none : .close
    }
}

/// Finds where a chunked body ends, fed its bytes as they come; the bytes themselves are passed on unchanged.
struct ChunkedBodyScanner {
    private enum State {
        case size(String)
        case data(Int)
        case dataEnd(Int)
        case trailer(String)
        case done
    }
    private var state = State.size("")

    var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Consumes `bytes`; returns how many belong to the body when its end is among them, else nil (all of them
    /// do). Throws on a malformed chunk size.
    mutating func consume(_ bytes: ArraySlice<UInt8>) throws -> Int? {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            switch state {
            case .size(var line):
                let byte = bytes[i]
                i += 1
                if byte == 0x0a {
                    let hex = line.split(separator: ";", omittingEmptySubsequences: false).first ?? ""
                    guard let size = Int(ASCII.trimmed(hex), radix: 16), size >= 0 else {
                        throw PreviewProxyError.malformed("a chunk size is not hexadecimal")
                    }
                    state = size == 0 ? .trailer("") : .data(size)
                } else if byte != 0x0d {
                    line.append(Character(UnicodeScalar(byte)))
                    guard line.utf8.count <= 1024 else {
                        throw PreviewProxyError.malformed("a chunk size line is too long")
                    }
                    state = .size(line)
                }
            case .data(let left):
                let take = min(left, bytes.endIndex - i)
                i += take
                state = left - take == 0 ? .dataEnd(2) : .data(left - take)
            case .dataEnd(let left):
                i += 1
                state = left == 1 ? .size("") : .dataEnd(left - 1)
            case .trailer(var line):
                let byte = bytes[i]
                i += 1
                if byte == 0x0a {
                    if line.isEmpty {
                        state = .done
                        return i - bytes.startIndex
                    }
                    state = .trailer("")
                } else if byte != 0x0d {
                    line.append(Character(UnicodeScalar(byte)))
                    guard line.utf8.count <= 8192 else { throw PreviewProxyError.malformed("a trailer is too long") }
                    state = .trailer(line)
                }
            case .done:
                return i - bytes.startIndex
            }
        }
        if case .done = state { return i - bytes.startIndex }
        return nil
    }
}

enum PreviewProxyError: Error {
    case malformed(String)
}
