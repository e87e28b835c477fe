import Glibc
import NIOCore

/// Finding and replacing placeholders over raw bytes (`memchr` for the first byte, `memcmp` for the rest). Placeholders are looked for in every
/// header, path and body that passes an intercepted connection; the standard library's generic collection
/// search was a measurable share of each request's time.
enum ByteSearch {
    /// The offset of the first `needle` in `haystack`, nil when absent (or when `needle` is empty).
    static func firstOffset(of needle: UnsafeRawBufferPointer, in haystack: UnsafeRawBufferPointer) -> Int? {
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

    static func contains(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Bool {
        needle.withUnsafeBytes { firstOffset(of: $0, in: haystack) != nil }
    }

    /// `haystack` with every `needle` replaced by `replacement`; the same array when there is none.
    static func replacingAll(_ needle: [UInt8], with replacement: [UInt8], in haystack: [UInt8]) -> [UInt8] {
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

extension String {
    /// Whether `needle` occurs in this string, compared byte for byte (UTF-8). Native strings are searched in
    /// place: this runs for every header of every intercepted request.
    func containsBytes(_ needle: String) -> Bool {
        withUTF8Bytes { haystack in needle.withUTF8Bytes { ByteSearch.firstOffset(of: $0, in: haystack) != nil } }
    }

    /// This string's UTF-8 bytes, without copying a native string.
    func withUTF8Bytes<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T {
        var copy = self
        return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, containsBytes(target) else { return self }
        let bytes = ByteSearch.replacingAll(Array(target.utf8), with: Array(replacement.utf8), in: Array(utf8))
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension ByteBuffer {
    func containsBytes(_ needle: String) -> Bool {
        withUnsafeReadableBytes { bytes in needle.withUTF8Bytes { ByteSearch.firstOffset(of: $0, in: bytes) != nil } }
    }
}
