#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Finding and replacing byte strings (`memchr` for the first byte, `memcmp` for the rest). The egress gateway
/// looks for secret placeholders in every header, path and body that passes an intercepted connection, and the
/// audit trail looks for secret values in every event it writes; the standard library's generic collection
/// search was a measurable share of each request's time.
public enum ByteSearch {
    /// The offset of the first `needle` in `haystack`, nil when absent (or when `needle` is empty).
    public static func firstOffset(of needle: UnsafeRawBufferPointer, in haystack: UnsafeRawBufferPointer) -> Int? {
        guard needle.count > 0, needle.count <= haystack.count, let h = haystack.baseAddress,
            let n = needle.baseAddress
        else { return nil }
        let first = Int32(needle[0])
        let lastStart = haystack.count - needle.count
        var offset = 0
        while offset <= lastStart {
            guard let hit = memchr(h + offset, first, lastStart - offset + 1) else { return nil }
            let at = h.distance(to: UnsafeRawPointer(hit))
            if memcmp(h + at, n, needle.count) == 0 { return at }
            offset = at + 1
        }
        return nil
    }

    /// The offsets of every occurrence of `needle` in `haystack`, overlapping ones included, in order.
    public static func allOffsets(of needle: UnsafeRawBufferPointer, in haystack: UnsafeRawBufferPointer) -> [Int] {
        var offsets: [Int] = []
        var start = 0
        while start < haystack.count,
            let at = firstOffset(of: needle, in: UnsafeRawBufferPointer(rebasing: haystack[start...]))
        {
            offsets.append(start + at)
            start += at + 1
        }
        return offsets
    }

    public static func contains(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Bool {
        needle.withUnsafeBytes { firstOffset(of: $0, in: haystack) != nil }
    }

    /// `haystack` with every `needle` replaced by `replacement`; the same array when there is none.
    public static func replacingAll(_ needle: [UInt8], with replacement: [UInt8], in haystack: [UInt8]) -> [UInt8] {
        guard !needle.isEmpty else { return haystack }
        return haystack.withUnsafeBytes { all -> [UInt8] in
            needle.withUnsafeBytes { pattern -> [UInt8] in
                guard var next = firstOffset(of: pattern, in: all) else { return haystack }
                var out: [UInt8] = []
                out.reserveCapacity(haystack.count)
                var start = 0
                while true {
                    out.append(contentsOf: all[start..<next])
                    out.append(contentsOf: replacement)
                    start = next + pattern.count
                    let rest = UnsafeRawBufferPointer(rebasing: all[start...])
                    guard let offset = firstOffset(of: pattern, in: rest) else { break }
                    next = start + offset
                }
                out.append(contentsOf: all[start...])
                return out
            }
        }
    }
}
