/// A compiled shell-style glob (`*` any run of characters, `?` one character) matched against UTF-8 bytes.
///
/// Compiled once per rule so a decision never re-parses text; the common shapes (no wildcard, `prefix*`,
/// `*suffix`) take a fast path that is a plain byte comparison.
struct GlobPattern: Sendable, Hashable {
    enum Element: Sendable, Hashable {
        case byte(UInt8)
        /// `*`: any run of bytes, possibly empty.
        case anyRun
        /// `?`: exactly one character (one UTF-8 sequence).
        case one
    }

    private enum Shape: Sendable, Hashable {
        case literal([UInt8])
        case prefix([UInt8])
        case suffix([UInt8])
        case general([Element])
    }

    private let shape: Shape

    init(elements: [Element]) {
        let literalBytes = elements.compactMap { element -> UInt8? in
            if case .byte(let b) = element { return b }
            return nil
        }
        let wildcards = elements.count - literalBytes.count
        if wildcards == 0 {
            shape = .literal(literalBytes)
        } else if wildcards == 1, elements.last == .anyRun {
            shape = .prefix(literalBytes)
        } else if wildcards == 1, elements.first == .anyRun {
            shape = .suffix(literalBytes)
        } else {
            shape = .general(elements)
        }
    }

    /// A glob from text where every `*` and `?` is a wildcard (no quoting).
    init(_ text: String) {
        self.init(
            elements: text.utf8.map { byte in
                switch byte {
                case UInt8(ascii: "*"): .anyRun
                case UInt8(ascii: "?"): .one
                default: .byte(byte)
                }
            })
    }

    /// True when the pattern has no wildcard, so `literal` is all it matches.
    var literal: [UInt8]? {
        if case .literal(let bytes) = shape { return bytes }
        return nil
    }

    func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { matches($0) }
    }

    func matches(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        switch shape {
        case .literal(let bytes):
            return text.elementsEqual(bytes)
        case .prefix(let bytes):
            return text.count >= bytes.count && text.prefix(bytes.count).elementsEqual(bytes)
        case .suffix(let bytes):
            return text.count >= bytes.count && text.suffix(bytes.count).elementsEqual(bytes)
        case .general(let elements):
            return Self.match(elements, text)
        }
    }

    /// Greedy matching with one backtrack point: each `*` only needs to remember the last star, which keeps the
    /// worst case at O(pattern × text) instead of exponential.
    private static func match(_ pattern: [Element], _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var p = 0
        var t = 0
        var starP = -1
        var starT = 0
        while t < text.count {
            if p < pattern.count {
                switch pattern[p] {
                case .anyRun:
                    starP = p
                    starT = t
                    p += 1
                    continue
                case .one:
                    t += sequenceLength(text[t])
                    p += 1
                    continue
                case .byte(let b) where b == text[t]:
                    p += 1
                    t += 1
                    continue
                case .byte:
                    break
                }
            }
            guard starP >= 0 else { return false }
            starT += 1
            t = starT
            p = starP + 1
        }
        while p < pattern.count, pattern[p] == .anyRun { p += 1 }
        return p == pattern.count && t == text.count
    }

    /// The length of the UTF-8 sequence a lead byte starts; 1 for anything malformed, so matching always advances.
    private static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0xF0...0xF7: 4
        case 0xE0...0xEF: 3
        case 0xC0...0xDF: 2
        default: 1
        }
    }
}
