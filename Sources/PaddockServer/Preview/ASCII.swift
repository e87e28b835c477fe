/// Header names, tokens and cookies are ASCII (RFC 9110 §5.5): the preview proxy compares, trims and lowercases
/// them byte by byte instead of with Foundation's Unicode-aware operations, which cost more than the rest of a
/// request's handling.
enum ASCII {
    static func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte }

    static func equalsIgnoringCase(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { lower($0) == lower($1) }
    }

    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool { equalsIgnoringCase(a.utf8, b.utf8) }

    static func lowercased(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes.map(lower), as: UTF8.self)
    }

    static func lowercased(_ text: String) -> String {
        text.utf8.contains { $0 >= 0x41 && $0 <= 0x5a } ? lowercased(text.utf8) : text
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// `bytes` without leading and trailing spaces and tabs.
    static func trimmed<C: BidirectionalCollection<UInt8>>(_ bytes: C) -> C.SubSequence {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isSpace(bytes[start]) { start = bytes.index(after: start) }
        while end > start, isSpace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        return bytes[start..<end]
    }

    static func trimmed(_ text: Substring) -> String { String(decoding: trimmed(text.utf8), as: UTF8.self) }
    static func trimmed(_ text: String) -> String { String(decoding: trimmed(text.utf8), as: UTF8.self) }
}
