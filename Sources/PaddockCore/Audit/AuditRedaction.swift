/// The secret values an audit event must never contain, and the marker written in their place
/// (`[secret:NAME]`).
///
/// People type secrets: `paddock exec ID -- curl -H "Authorization: Bearer …"`, an `--env` value, a path, the
/// text of an approval. The audit log applies a redaction to every event before it is hashed and stored, so
/// the trail (and its exports) never holds a vault value, and the hash chain covers the redacted bytes:
/// `audit verify` holds as for any other event.
///
/// Values shorter than `minimumLength` bytes are left alone: a short value (`1234`, `admin`) matches ordinary
/// words and numbers, so redacting it would blank out unrelated text while protecting little — it is guessable
/// anyway. This is the same trade-off CI systems make for masked variables (GitLab requires 8 characters).
public struct AuditRedaction: Sendable, CustomStringConvertible {
    /// The shortest value, in UTF-8 bytes, that is redacted.
    public static let minimumLength = 8

    struct Secret: Sendable {
        let name: String
        let value: [UInt8]
    }

    private let secrets: [Secret]

    /// Nothing to redact.
    public static let none = AuditRedaction(secrets: [])

    /// Redacts each value (shorter ones than `minimumLength` are skipped) and writes `[secret:name]` instead.
    public init(secrets: [(name: String, value: String)]) {
        self.secrets = secrets.compactMap { secret in
            let bytes = Array(secret.value.utf8)
            return bytes.count >= Self.minimumLength ? Secret(name: secret.name, value: bytes) : nil
        }
    }

    /// Whether there is no value to look for.
    public var isEmpty: Bool { secrets.isEmpty }

    /// The text written instead of a secret's value.
    public static func marker(_ name: String) -> String { "[secret:\(name)]" }

    /// Only names: printing a redaction must not print what it hides.
    public var description: String { "AuditRedaction(\(secrets.map(\.name).joined(separator: ", ")))" }

    /// `fields` with every secret value replaced, in keys and values at any depth.
    public func apply(to fields: [String: AuditValue]) -> [String: AuditValue] {
        guard !isEmpty else { return fields }
        var out: [String: AuditValue] = [:]
        for (key, value) in fields { out[apply(to: key)] = apply(to: value) }
        return out
    }

    public func apply(to value: AuditValue) -> AuditValue {
        guard !isEmpty else { return value }
        switch value {
        case .string(let s): return .string(apply(to: s))
        case .list(let l): return .list(l.map(apply(to:)))
        case .object(let o): return .object(apply(to: o))
        case .int, .bool, .null: return value
        }
    }

    /// `text` with every secret value replaced by its marker. Occurrences are found in the original bytes and
    /// overlapping ones are replaced as one span, so no part of any value survives next to a marker.
    public func apply(to text: String) -> String {
        guard !isEmpty else { return text }
        var copy = text
        let replaced: [UInt8]? = copy.withUTF8 { utf8 in
            let haystack = UnsafeRawBufferPointer(utf8)
            var spans: [(start: Int, end: Int, name: String)] = []
            for secret in secrets {
                let offsets = secret.value.withUnsafeBytes { ByteSearch.allOffsets(of: $0, in: haystack) }
                spans += offsets.map { ($0, $0 + secret.value.count, secret.name) }
            }
            guard !spans.isEmpty else { return nil }
            // In order; of spans that start together, the longest first, so its name comes first.
            spans.sort { $0.start != $1.start ? $0.start < $1.start : $0.end > $1.end }
            var out: [UInt8] = []
            out.reserveCapacity(haystack.count)
            var written = 0
            var index = 0
            while index < spans.count {
                var span = spans[index]
                var names = [span.name]
                index += 1
                while index < spans.count, spans[index].start < span.end {
                    // A value inside another adds nothing; one that runs past it is named too.
                    if spans[index].end > span.end {
                        span.end = spans[index].end
                        if !names.contains(spans[index].name) { names.append(spans[index].name) }
                    }
                    index += 1
                }
                out += haystack[written..<span.start]
                for name in names { out += Self.marker(name).utf8 }
                written = span.end
            }
            out += haystack[written...]
            return out
        }
        guard let replaced else { return text }
        // Values are whole UTF-8 strings, so every span starts and ends on a character boundary.
        return String(decoding: replaced, as: UTF8.self)
    }
}

/// Supplies the secret values the audit trail must not contain. The server's secrets vault implements it.
public protocol AuditRedactor: Sendable {
    /// The redaction to apply to the next event. Throws when the values cannot be read: the event is then not
    /// written, and the action it records fails with it (an audit trail that may hold a secret is not written).
    func auditRedaction() async throws -> AuditRedaction
}
