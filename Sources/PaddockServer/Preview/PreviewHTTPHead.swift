import Foundation

/// The head of an HTTP/1.x request or response as the preview proxy reads it: the start line and the header
/// fields in order, names as sent. Bodies are never parsed, only framed (`framing`).
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
        guard bytes.count >= 4 else { return nil }
        var i = 3
        while i < bytes.count {
            if bytes[i] == 0x0a && bytes[i - 1] == 0x0d && bytes[i - 2] == 0x0a && bytes[i - 3] == 0x0d { return i + 1 }
            i += 1
        }
        return nil
    }

    /// Parses a complete head (with or without its blank line); nil when it is not HTTP/1.x.
    init?(_ bytes: some Collection<UInt8>) {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        while lines.last == "" { lines.removeLast() }
        guard let first = lines.first else { return nil }
        let parts = first.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return nil }
        startLine = parts
        fields = []
        for line in lines.dropFirst() {
            // Obsolete line folding and fields without a colon are refused, as request smuggling hides in them.
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix(" "), !line.hasPrefix("\t") else { return nil }
            let name = String(line[..<colon])
            guard !name.isEmpty, !name.contains(" ") else { return nil }
            fields.append((name, String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        guard isRequest || isResponse else { return nil }
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
        fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }
    func value(_ name: String) -> String? { values(name).first }
    /// The comma-separated tokens of a field such as `Connection`, lowercased.
    func tokens(_ name: String) -> Set<String> {
        Set(
            values(name).flatMap { $0.split(separator: ",") }.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            })
    }
    mutating func remove(_ names: Set<String>) { fields.removeAll { names.contains($0.name.lowercased()) } }
    mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// Whether the connection may carry another message after this one (HTTP/1.1 unless `close`; 1.0 only
    /// with `keep-alive`).
    var keepsAlive: Bool {
        let connection = tokens("Connection")
        return version == "HTTP/1.1" ? !connection.contains("close") : connection.contains("keep-alive")
    }

    var isWebSocketUpgrade: Bool {
        isRequest && tokens("Connection").contains("upgrade") && tokens("Upgrade").contains("websocket")
    }

    var serialized: [UInt8] {
        var text = startLine.joined(separator: " ") + "\r\n"
        for field in fields { text += "\(field.name): \(field.value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
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
                    let hex =
                        line.trimmingCharacters(in: .whitespaces).split(separator: ";").first.map(String.init) ?? ""
                    guard let size = Int(hex.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
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
