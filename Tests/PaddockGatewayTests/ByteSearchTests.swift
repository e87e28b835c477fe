import NIOCore
import PaddockCore
import Testing

@testable import PaddockGateway

/// The byte search that finds and swaps placeholders in headers, paths and bodies.
struct ByteSearchTests {
    @Test(arguments: [
        ("Bearer PH", "PH", "VALUE", "Bearer VALUE"),
        ("PH at the start", "PH", "V", "V at the start"),
        ("PHPH", "PH", "xy", "xyxy"),
        ("a PH b PH c", "PH", "value-longer-than-it", "a value-longer-than-it b value-longer-than-it c"),
        ("no placeholder", "PH", "V", "no placeholder"),
        ("P", "PH", "V", "P"),
        ("PPH", "PH", "V", "PV"),
        ("", "PH", "V", ""),
        ("ünïcödé PH ✓", "PH", "ß", "ünïcödé ß ✓"),
    ])
    func replacesEveryOccurrence(text: String, target: String, replacement: String, expected: String) {
        #expect(text.replacingAll(target, with: replacement) == expected)
        #expect(text.containsBytes(target) == (text != expected))
    }

    @Test func findsPlaceholdersInBuffersAndByteArrays() {
        let placeholder = "pk-placeholder-0123456789"
        let body = ByteBuffer(string: "{\"key\":\"\(placeholder)\",\"n\":1}")
        #expect(body.containsBytes(placeholder))
        #expect(!body.containsBytes(placeholder + "x"))
        #expect(!ByteBuffer().containsBytes(placeholder))
        let swapped = ByteSearch.replacingAll(
            Array(placeholder.utf8), with: Array("real".utf8), in: Array(body.readableBytesView))
        #expect(String(decoding: swapped, as: UTF8.self) == "{\"key\":\"real\",\"n\":1}")
        // An empty needle never matches and changes nothing.
        #expect(ByteSearch.replacingAll([], with: [1], in: [1, 2, 3]) == [1, 2, 3])
    }
}
