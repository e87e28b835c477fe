/// An IPv4 or IPv6 address, parsed without Foundation or libc so the policy engine stays pure.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable, Hashable {
        case v4
        case v6
    }

    public let family: Family
    /// The first 64 bits of an IPv6 address; 0 for IPv4.
    let high: UInt64
    /// The last 64 bits of an IPv6 address, or the IPv4 address in the low 32 bits.
    let low: UInt64

    init(family: Family, high: UInt64, low: UInt64) {
        self.family = family
        self.high = high
        self.low = low
    }

    /// Parses `192.0.2.1`, `2001:db8::1`, `::ffff:192.0.2.1`; brackets around IPv6 are accepted. IPv4 parts with
    /// leading zeros are refused, because some resolvers read `010` as octal and reach a different address.
    public init?(_ text: String) {
        var text = Substring(text)
        if text.first == "[", text.last == "]" { text = text.dropFirst().dropLast() }
        // A cheap byte scan first: most hosts are names, and this runs for every network decision.
        let isV6 = text.utf8.contains(UInt8(ascii: ":"))
        let plausible = isV6 ? text.utf8.allSatisfy(IPAddress.isV6Byte) : text.utf8.allSatisfy(IPAddress.isV4Byte)
        guard !text.isEmpty, plausible else { return nil }
        if isV6 {
            guard let (high, low) = Self.parseV6(text) else { return nil }
            self.init(family: .v6, high: high, low: low)
        } else {
            guard let v4 = Self.parseV4(text) else { return nil }
            self.init(family: .v4, high: 0, low: UInt64(v4))
        }
    }

    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as the IPv4 address it stands for, so a connection over
    /// IPv6 cannot slip past IPv4 rules; any other address unchanged.
    public var unmapped: IPAddress {
        guard family == .v6, high == 0, low >> 32 == 0xFFFF else { return self }
        return IPAddress(family: .v4, high: 0, low: low & 0xFFFF_FFFF)
    }

    /// Dotted quad for IPv4; RFC 5952 form for IPv6 (lowercase, longest zero run as `::`).
    public var description: String {
        switch family {
        case .v4:
            return [24, 16, 8, 0].map { String((low >> UInt64($0)) & 0xFF) }.joined(separator: ".")
        case .v6:
            let groups = (0..<8).map { i -> UInt16 in
                let word = i < 4 ? high : low
                return UInt16(truncatingIfNeeded: word >> UInt64(48 - 16 * (i % 4)))
            }
            // Longest run of two or more zero groups; the first one on a tie.
            var bestStart = -1
            var bestLength = 1
            var i = 0
            while i < 8 {
                guard groups[i] == 0 else {
                    i += 1
                    continue
                }
                var j = i
                while j < 8, groups[j] == 0 { j += 1 }
                if j - i > bestLength {
                    bestStart = i
                    bestLength = j - i
                }
                i = j
            }
            let hex = groups.map { String($0, radix: 16) }
            guard bestStart >= 0 else { return hex.joined(separator: ":") }
            let head = hex[..<bestStart].joined(separator: ":")
            let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
            return head + "::" + tail
        }
    }

    private static func isV4Byte(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || b == UInt8(ascii: ".") }

    private static func isV6Byte(_ b: UInt8) -> Bool {
        isV4Byte(b) || (0x61...0x66).contains(b) || (0x41...0x46).contains(b) || b == UInt8(ascii: ":")
    }

    static func parseV4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part.count == 1 || part.first != "0", let byte = UInt32(part), byte <= 255
            else { return nil }
            value = value << 8 | byte
        }
        return value
    }

    static func parseV6(_ text: Substring) -> (UInt64, UInt64)? {
        guard !text.isEmpty, !text.utf8.contains(UInt8(ascii: "%")) else { return nil }
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, piece) in pieces.enumerated() {
                if i == pieces.count - 1, piece.utf8.contains(UInt8(ascii: ".")) {
                    // An IPv4 address in the last 32 bits (`::ffff:192.0.2.1`).
                    guard let v4 = parseV4(piece) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xFFFF))
                    continue
                }
                guard (1...4).contains(piece.count), let group = UInt16(piece, radix: 16) else { return nil }
                out.append(group)
            }
            return out
        }
        var all: [UInt16]
        if let range = text.firstRange(of: "::") {
            let tailText = text[range.upperBound...]
            guard tailText.firstRange(of: "::") == nil, let head = groups(text[..<range.lowerBound]),
                let tail = groups(tailText),
                head.count + tail.count < 8
            else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let parsed = groups(text), parsed.count == 8 else { return nil }
            all = parsed
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<4 { high = high << 16 | UInt64(all[i]) }
        for i in 4..<8 { low = low << 16 | UInt64(all[i]) }
        return (high, low)
    }
}
