/// One message of a Connect streaming body: a flag byte, a 4-byte big-endian length, then the payload.
///
/// Flag bit 0x01 marks a compressed payload (never produced here, refused on input); 0x02 marks the
/// end-of-stream message, whose JSON carries the stream's error or trailers.
struct ConnectEnvelope: Equatable, Sendable {
    static let compressedFlag: UInt8 = 0x01
    static let endStreamFlag: UInt8 = 0x02

    var flags: UInt8
    var payload: [UInt8]

    init(flags: UInt8 = 0, payload: [UInt8]) {
        self.flags = flags
        self.payload = payload
    }

    var isEndStream: Bool { flags & Self.endStreamFlag != 0 }

    /// The envelope as bytes on the wire.
    func encoded() -> [UInt8] {
        let length = UInt32(clamping: payload.count)
        var out: [UInt8] = [flags]
        out.reserveCapacity(5 + payload.count)
        for shift in [24, 16, 8, 0] as [UInt32] { out.append(UInt8(truncatingIfNeeded: length >> shift)) }
        out.append(contentsOf: payload)
        return out
    }
}

/// Splits a byte stream into Connect envelopes, whatever the chunking of the transport.
struct ConnectEnvelopeDecoder {
    /// Envelopes larger than this are refused, so a bad length cannot make the server buffer gigabytes.
    static let defaultMaxPayload = 16 << 20

    let maxPayload: Int
    private var buffer: [UInt8] = []

    init(maxPayload: Int = ConnectEnvelopeDecoder.defaultMaxPayload) { self.maxPayload = maxPayload }

    mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received that do not yet form a whole envelope.
    var pendingByteCount: Int { buffer.count }

    /// The next complete envelope, or nil until more bytes arrive.
    mutating func next() throws(ConnectError) -> ConnectEnvelope? {
        guard buffer.count >= 5 else { return nil }
        let flags = buffer[0]
        let length = buffer[1...4].reduce(0) { ($0 << 8) | Int($1) }
        guard flags & ConnectEnvelope.compressedFlag == 0 else {
            throw ConnectError(.unimplemented, "compressed envelopes are not supported; send them uncompressed")
        }
        guard length <= maxPayload else {
            throw ConnectError(.resourceExhausted, "an envelope of \(length) bytes exceeds the limit of \(maxPayload)")
        }
        guard buffer.count >= 5 + length else { return nil }
        let envelope = ConnectEnvelope(flags: flags, payload: Array(buffer[5..<(5 + length)]))
        buffer.removeFirst(5 + length)
        return envelope
    }
}
