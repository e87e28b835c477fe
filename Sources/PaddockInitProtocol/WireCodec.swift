// The host <-> paddock-init wire format.
//
// A connection is a unix stream socket. Every message is a frame: a 4-byte big-endian length followed by
// that many bytes of payload; the payload's first byte is the message tag. Fields are encoded in order
// with `WireWriter` (integers big-endian, strings and byte runs length-prefixed). The format is private
// to Paddock — both ends ship together — so it favours a small, dependency-free codec over
// self-description. paddock-init links this module statically, so it must not import Foundation.

/// The largest frame either side accepts. Output and file data are chunked well below this.
public let wireMaxFrame = 4 * 1024 * 1024

/// Chunk size used for process output and file data.
public let wireChunkSize = 64 * 1024

/// A malformed or truncated frame.
public struct WireError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Appends fields to a byte buffer.
public struct WireWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }
    public mutating func u32(_ v: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift)))
        }
    }
    public mutating func u64(_ v: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift)))
        }
    }
    public mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    public mutating func data<C: Collection>(_ v: C) where C.Element == UInt8 {
        u32(UInt32(v.count))
        bytes.append(contentsOf: v)
    }
    public mutating func string(_ v: String) { data(Array(v.utf8)) }
    public mutating func strings(_ v: [String]) {
        u32(UInt32(v.count))
        for s in v { string(s) }
    }
    public mutating func optionalString(_ v: String?) {
        bool(v != nil)
        if let v { string(v) }
    }
}

/// Reads fields back in the order they were written. Every read checks bounds.
public struct WireReader {
    private let bytes: [UInt8]
    private var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var isAtEnd: Bool { offset >= bytes.count }

    private mutating func take(_ n: Int) throws(WireError) -> ArraySlice<UInt8> {
        guard n >= 0, bytes.count - offset >= n else { throw WireError("truncated frame") }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    public mutating func u8() throws(WireError) -> UInt8 { try take(1).first ?? 0 }
    public mutating func bool() throws(WireError) -> Bool { try u8() != 0 }
    public mutating func u16() throws(WireError) -> UInt16 {
        try take(2).reduce(0) { $0 << 8 | UInt16($1) }
    }
    public mutating func u32() throws(WireError) -> UInt32 {
        try take(4).reduce(0) { $0 << 8 | UInt32($1) }
    }
    public mutating func u64() throws(WireError) -> UInt64 {
        try take(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
    public mutating func i32() throws(WireError) -> Int32 { Int32(bitPattern: try u32()) }
    public mutating func i64() throws(WireError) -> Int64 { Int64(bitPattern: try u64()) }
    public mutating func data() throws(WireError) -> [UInt8] {
        let n = Int(try u32())
        guard n <= wireMaxFrame else { throw WireError("field of \(n) bytes exceeds the frame limit") }
        return Array(try take(n))
    }
    public mutating func string() throws(WireError) -> String { String(decoding: try data(), as: UTF8.self) }
    public mutating func strings() throws(WireError) -> [String] {
        let n = Int(try u32())
        guard n <= 1 << 20 else { throw WireError("list of \(n) strings is too long") }
        var out: [String] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try string()) }
        return out
    }
    public mutating func optionalString() throws(WireError) -> String? {
        try bool() ? try string() : nil
    }
}

/// Splits a byte stream into frames. Feed it whatever `read` returned; take complete payloads out.
public struct FrameDecoder {
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    public mutating func append<C: Collection>(_ chunk: C) where C.Element == UInt8 {
        buffer.append(contentsOf: chunk)
    }

    /// The next complete frame payload, or nil if more bytes are needed.
    public mutating func next() throws(WireError) -> [UInt8]? {
        guard buffer.count - start >= 4 else { return nil }
        var length = 0
        for i in 0..<4 { length = length << 8 | Int(buffer[start + i]) }
        guard length > 0, length <= wireMaxFrame else { throw WireError("frame length \(length) is out of range") }
        guard buffer.count - start - 4 >= length else { return nil }
        let payload = Array(buffer[(start + 4)..<(start + 4 + length)])
        start += 4 + length
        // Compact once the consumed prefix dominates, so long streams do not grow the buffer forever.
        if start > 64 * 1024 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return payload
    }

    /// Takes whatever was received past the last complete frame. After `dial`'s `ok` the connection carries
    /// raw bytes, and the first of them may have arrived together with the reply.
    public mutating func takeBuffered() -> [UInt8] {
        let rest = Array(buffer[start...])
        buffer = []
        start = 0
        return rest
    }
}

/// Prefixes a payload with its length.
public func wireFrame(_ payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(payload.count + 4)
    let n = UInt32(payload.count)
    out.append(UInt8(truncatingIfNeeded: n >> 24))
    out.append(UInt8(truncatingIfNeeded: n >> 16))
    out.append(UInt8(truncatingIfNeeded: n >> 8))
    out.append(UInt8(truncatingIfNeeded: n))
    out.append(contentsOf: payload)
    return out
}
