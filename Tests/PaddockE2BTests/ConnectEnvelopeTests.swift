import PaddockServices
import Testing

@testable import PaddockServer

struct ConnectEnvelopeTests {
    @Test func encodesFlagLengthAndPayload() {
        let bytes = ConnectEnvelope(payload: Array("{}".utf8)).encoded()
        #expect(bytes == [0, 0, 0, 0, 2, 0x7B, 0x7D])
        let end = ConnectError.successEndStream.encoded()
        #expect(end.first == 0x02)
    }

    @Test func decodesAcrossArbitraryChunking() throws {
        let first = ConnectEnvelope(payload: Array(#"{"a":1}"#.utf8))
        let second = ConnectEnvelope(flags: 0x02, payload: Array(repeating: 0x41, count: 70_000))
        let wire = first.encoded() + second.encoded()
        for chunk in [1, 3, 5, 4096, wire.count] {
            var decoder = ConnectEnvelopeDecoder()
            var out: [ConnectEnvelope] = []
            var offset = 0
            while offset < wire.count {
                decoder.append(wire[offset..<min(offset + chunk, wire.count)])
                offset += chunk
                while let envelope = try decoder.next() { out.append(envelope) }
            }
            #expect(out == [first, second])
            #expect(out[1].isEndStream)
            #expect(decoder.pendingByteCount == 0)
        }
    }

    @Test func waitsForAnIncompleteEnvelope() throws {
        var decoder = ConnectEnvelopeDecoder()
        decoder.append([0, 0, 0, 0, 10, 1, 2])
        #expect(try decoder.next() == nil)
        #expect(decoder.pendingByteCount == 7)
    }

    @Test func refusesCompressedAndOversizedEnvelopes() {
        var compressed = ConnectEnvelopeDecoder()
        compressed.append([0x01, 0, 0, 0, 1, 0])
        #expect(throws: ConnectError.self) { try compressed.next() }
        var huge = ConnectEnvelopeDecoder(maxPayload: 16)
        huge.append([0, 0, 0, 0, 17])
        do {
            _ = try huge.next()
            Issue.record("an oversized envelope was accepted")
        } catch {
            #expect(error.code == .resourceExhausted)
        }
    }

    @Test func endStreamCarriesTheError() throws {
        let envelope = ConnectError(.deadlineExceeded, "too slow").endStreamEnvelope()
        #expect(envelope.isEndStream)
        let text = String(decoding: envelope.payload, as: UTF8.self)
        #expect(text == #"{"error":{"code":"deadline_exceeded","message":"too slow"}}"#)
    }

    @Test(arguments: [
        (ConnectError.Code.notFound, 404), (.invalidArgument, 400), (.deadlineExceeded, 504), (.unavailable, 503),
        (.unimplemented, 501), (.alreadyExists, 409), (.unauthenticated, 401), (.internal, 500),
    ])
    func unaryErrorStatus(code: ConnectError.Code, status: Int) {
        #expect(code.httpStatus == status)
    }
}
