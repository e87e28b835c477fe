import Foundation

/// base64url without padding (RFC 4648 §5), the encoding of JWTs, PKCE challenges and CSRF tokens.
enum Base64URL {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// nil when `text` is not base64url (padding is tolerated; `+`, `/` and whitespace are not).
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var s = String(text)
        while s.hasSuffix("=") { s.removeLast() }
        guard s.utf8.allSatisfy({ isAlphabet($0) }), s.utf8.count % 4 != 1 else { return nil }
        s = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        s += String(repeating: "=", count: (4 - s.utf8.count % 4) % 4)
        return Data(base64Encoded: s).map(Array.init)
    }

    private static func isAlphabet(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f
    }
}
