import PaddockCore

/// A vault secret as the gateway uses it: the real value, the placeholder the sandbox sees instead, and the
/// hosts the value may be sent to.
///
/// The value never becomes text: `description` names the secret only.
public struct GatewaySecret: Sendable, CustomStringConvertible {
    public let name: String
    public let value: String
    public let placeholder: String
    /// Where the placeholder is swapped for the value (host patterns: names, `*.suffix`, `host:port`).
    public let hosts: [HostPattern]
    /// Swap over plaintext HTTP too. Off by default: a value sent without TLS can be read on the way.
    public let allowHTTP: Bool
    /// Swap placeholders in request bodies too (buffered, up to `maxSwappedBody`), for APIs that take the
    /// key in a JSON or form body. Off by default: headers and the request target are where keys go.
    public let inBody: Bool
    /// Largest request body the gateway buffers to swap a placeholder in.
    public static let maxSwappedBody = 8 << 20
    /// Further host lists a host must also match, one per policy layer that names the secret (runtime.yml
    /// `secrets:`): a policy can narrow where a vault secret goes, never widen it.
    public let narrowedBy: [[HostPattern]]

    public init(
        name: String, value: String, placeholder: String, hosts: [String], allowHTTP: Bool = false,
        inBody: Bool = false, narrowedBy: [[String]] = []
    ) throws(PaddockError) {
        guard !hosts.isEmpty else {
            throw .invalidArgument("secret '\(name)' has no hosts; give the hosts it may be sent to with --hosts")
        }
        guard !value.isEmpty, placeholder != value else {
            throw .invalidArgument("secret '\(name)' is empty; set a value with `paddock secrets set \(name)`")
        }
        var patterns: [HostPattern] = []
        for host in hosts { patterns.append(try HostPattern(parsing: host)) }
        self.name = name
        self.value = value
        self.placeholder = placeholder
        self.hosts = patterns
        self.allowHTTP = allowHTTP
        self.inBody = inBody
        var narrowing: [[HostPattern]] = []
        for list in narrowedBy {
            var patterns: [HostPattern] = []
            for host in list { patterns.append(try HostPattern(parsing: host)) }
            narrowing.append(patterns)
        }
        self.narrowedBy = narrowing
    }

    /// Whether requests to `host:port` get the value.
    public func isScoped(to host: String, port: UInt16) -> Bool {
        hosts.contains { $0.matches(host: host, port: port) }
            && narrowedBy.allSatisfy { list in list.contains { $0.matches(host: host, port: port) } }
    }

    /// Where the value may go, as a person reads it: the vault's hosts, and the policy's narrowing if any.
    public var scopeDescription: String {
        let vault = hosts.map(\.text).joined(separator: ", ")
        guard !narrowedBy.isEmpty else { return vault }
        let policy = narrowedBy.map { $0.map(\.text).joined(separator: ", ") }.joined(separator: "; and ")
        return "\(vault), narrowed by runtime.yml secrets: to \(policy)"
    }

    /// A placeholder for a value: as long as the value where possible (tools check lengths), at least 24
    /// characters, random, and recognisable in logs.
    public static func makePlaceholder(forValueOfLength length: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        let prefix = "PADDOCK-PLACEHOLDER-"
        let total = max(length, prefix.count + 16)
        var generator = SystemRandomNumberGenerator()
        let tail = (0..<(total - prefix.count)).map { _ in
            alphabet[Int.random(in: 0..<alphabet.count, using: &generator)]
        }
        return prefix + String(tail)
    }

    public var description: String { "GatewaySecret(\(name), hosts: \(hosts.map(\.text)))" }
}
