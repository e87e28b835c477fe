/// A session's identifier: 1–63 lowercase letters and digits, so it is valid as a DNS label, a runc
/// container id, a cgroup name and an E2B sandbox id (`^[a-z0-9]+$`).
public struct SessionID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    public init?(rawValue: String) {
        guard (1...63).contains(rawValue.utf8.count),
            rawValue.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) })
        else { return nil }
        self.rawValue = rawValue
    }

    public init(validating text: String) throws(PaddockError) {
        guard let id = SessionID(rawValue: text) else {
            throw .invalidArgument("'\(text)' is not a session id; ids are lowercase letters and digits")
        }
        self = id
    }

    /// A fresh random id: 16 base-36 characters (about 82 bits).
    public static func random() -> SessionID {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var bytes = [UInt8]()
        // Start with a letter so ids never look like numbers to tools that guess types.
        bytes.append(alphabet[Int.random(in: 0..<26, using: &rng)])
        for _ in 1..<16 { bytes.append(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]) }
        return SessionID(uncheckedRawValue: String(decoding: bytes, as: UTF8.self))
    }

    private init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }

    /// The chain of the organisation's own audit trail (people, teams, tokens, limits, secrets, templates,
    /// pools, emergency stops). Session ids are 16 characters, so this short one never names a session.
    public static let organization = SessionID(uncheckedRawValue: "org")

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try SessionID(validating: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public static func < (a: SessionID, b: SessionID) -> Bool { a.rawValue < b.rawValue }
}
