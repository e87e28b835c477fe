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

    public init(name: String, value: String, placeholder: String, hosts: [String], allowHTTP: Bool = false)
        throws(PaddockError)
    {
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
    }

    /// Whether requests to `host:port` get the value.
    public func isScoped(to host: String, port: UInt16) -> Bool {
        hosts.contains { $0.matches(host: host, port: port) }
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
