import PaddockCore
import Testing

/// What the audit log writes instead of a secret value.
struct AuditRedactionTests {
    static let redaction = AuditRedaction(secrets: [
        ("LONG", "abcdefgh-long-value"), ("SHORT", "abcdefgh"), ("OTHER", "12345678"), ("TINY", "1234567"),
        ("UNICODE", "pässwörd-✓"), ("EDGE", "ghijklmn"),
    ])

    @Test(arguments: [
        ("Bearer abcdefgh-long-value", "Bearer [secret:LONG]"),
        ("abcdefgh and abcdefgh-long-value", "[secret:SHORT] and [secret:LONG]"),
        ("x12345678abcdefgh", "x[secret:OTHER][secret:SHORT]"),
        // Overlapping values are replaced as one span: no part of either survives.
        ("abcdefghijklmn", "[secret:SHORT][secret:EDGE]"),
        ("1234567abcdefgh", "1234567[secret:SHORT]"),
        ("12345678abcdefgh-long-value!", "[secret:OTHER][secret:LONG]!"),
        ("0123456789", "0[secret:OTHER]9"),
        ("a pässwörd-✓ b", "a [secret:UNICODE] b"),
        // Shorter than the minimum: not a value that is looked for.
        ("only 1234567 here", "only 1234567 here"),
        ("nothing to hide", "nothing to hide"),
        ("", ""),
    ])
    func replacesEveryOccurrence(text: String, expected: String) {
        #expect(Self.redaction.apply(to: text) == expected)
    }

    @Test func reachesKeysAndValuesAtAnyDepth() {
        let fields: [String: AuditValue] = [
            "argv": .strings(["curl", "-u", "me:abcdefgh"]),
            "env": .object(["abcdefgh-long-value": .list([.string("12345678"), .int(12_345_678), .bool(true), .null])]),
        ]
        #expect(
            Self.redaction.apply(to: fields) == [
                "argv": .strings(["curl", "-u", "me:[secret:SHORT]"]),
                "env": .object([
                    "[secret:LONG]": .list([.string("[secret:OTHER]"), .int(12_345_678), .bool(true), .null])
                ]),
            ])
    }

    @Test func printingARedactionShowsNamesOnly() {
        let text = "\(Self.redaction)"
        #expect(text.contains("LONG") && !text.contains("abcdefgh") && !text.contains("12345678"))
        #expect(AuditRedaction.none.isEmpty && AuditRedaction(secrets: [("TINY", "1234567")]).isEmpty)
    }
}
