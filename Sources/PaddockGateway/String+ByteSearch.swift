import NIOCore
import PaddockCore

// The byte search itself (`ByteSearch`, memchr + memcmp) lives in PaddockCore, shared with the audit trail's
// secret redaction; these are the gateway's views of it over strings and buffers.

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
