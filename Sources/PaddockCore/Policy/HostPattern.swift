/// A compiled network rule: `api.stripe.com`, `*.github.com`, `pypi.org:443`, `*`, `10.0.0.0/8`, `[fd00::/8]:443`.
///
/// Host names compare case-insensitively and without a trailing dot. `*.example.com` matches every subdomain at
/// any depth but not `example.com` itself (list both when both are meant). Without a port a rule matches every
/// port. CIDR blocks and addresses match the IP literal a program connected to and the address the gateway
/// resolved a name to, so a name rule cannot be used to reach a denied address.
public struct HostPattern: Sendable, Hashable, CustomStringConvertible {
    /// What the host part matches.
    public enum Host: Sendable, Hashable {
        /// `*`: every host.
        case any
        /// One host name, lowercased, no trailing dot.
        case name(String)
        /// `*.suffix`: strict subdomains of `suffix`.
        case subdomains(of: String)
        /// An address block, or one address.
        case network(IPNetwork)
    }

    public let host: Host
    /// nil matches every port.
    public let port: UInt16?
    /// The pattern as written.
    public let text: String

    /// Parses a host pattern; the error says what to write instead.
    public init(parsing text: String) throws(PaddockError) {
        self.text = text
        var rest = Substring(text.trimmingWhitespace().lowercased())
        guard !rest.isEmpty else {
            throw .invalidArgument("the host pattern is empty; write a host such as api.example.com or *.example.com")
        }
        if let scheme = rest.firstRange(of: "://") {
            let after = rest[scheme.upperBound...]
            let host = after.prefix { $0 != "/" && $0 != "?" }
            throw .invalidArgument("'\(text)' is a URL; network rules match hosts, so write '\(host)'")
        }
        var portText: Substring?
        if rest.first == "[" {
            // `[v6]` or `[v6]:port`: brackets are the only way to give an IPv6 address a port.
            guard let close = rest.firstIndex(of: "]") else {
                throw .invalidArgument("'\(text)' opens '[' without ']'; write an IPv6 address as [fd00::1]:443")
            }
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else {
                    throw .invalidArgument("'\(text)' has text after ']'; write [address]:port")
                }
                portText = after.dropFirst()
            }
            rest = rest[rest.index(after: rest.startIndex)..<close]
        } else if rest.filter({ $0 == ":" }).count == 1, let colon = rest.firstIndex(of: ":") {
            portText = rest[rest.index(after: colon)...]
            rest = rest[..<colon]
        }
        if let portText {
            guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = UInt16(portText), port > 0 else {
                throw .invalidArgument("'\(text)' has port '\(portText)'; write a number from 1 to 65535")
            }
            self.port = port
        } else {
            port = nil
        }
        host = try Self.parseHost(rest, in: text)
    }

    /// The pattern re-printed in one form (`API.Example.com.` → `api.example.com`), to find duplicates.
    public var canonical: String {
        let hostText: String
        switch host {
        case .any: hostText = "*"
        case .name(let name): hostText = name
        case .subdomains(let suffix): hostText = "*." + suffix
        case .network(let network):
            hostText = network.address.family == .v6 && port != nil ? "[\(network)]" : "\(network)"
        }
        return port.map { "\(hostText):\($0)" } ?? hostText
    }

    public var description: String { text }

    /// Whether a request matches: `host` as the program asked for it (a name or an IP literal), the port, and the
    /// address it resolved to when known.
    public func matches(host requested: String, port requestedPort: UInt16?, address: IPAddress? = nil) -> Bool {
        let request = NetworkPolicy.Request(host: requested, port: requestedPort, address: address)
        return matches(request)
    }

    func matches(_ request: NetworkPolicy.Request) -> Bool {
        if let port, port != request.port { return false }
        switch host {
        case .any: return true
        case .name(let name): return request.name == name
        case .subdomains(let suffix):
            guard let name = request.name, name.utf8.count > suffix.utf8.count + 1 else { return false }
            // Byte-wise and allocation-free: the name ends with the suffix, preceded by a dot.
            let tail = name.utf8.reversed()
            return tail.starts(with: suffix.utf8.reversed())
                && tail.dropFirst(suffix.utf8.count).first == UInt8(ascii: ".")
        case .network(let network): return request.addresses.contains(where: network.contains)
        }
    }

    public static func == (a: HostPattern, b: HostPattern) -> Bool { a.host == b.host && a.port == b.port }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(host)
        hasher.combine(port)
    }

    private static func parseHost(_ host: Substring, in text: String) throws(PaddockError) -> Host {
        if host == "*" { return .any }
        if host.contains(where: { $0 == "/" }) {
            guard host.contains(where: { $0 == ":" }) || host.first.map({ $0.isNumber }) == true else {
                let name = host.prefix { $0 != "/" }
                throw .invalidArgument("'\(text)' has a path; network rules match hosts only, so write '\(name)'")
            }
            return .network(try IPNetwork(parsing: String(host)))
        }
        if host.contains(where: { $0 == ":" }) {
            return .network(try IPNetwork(parsing: String(host)))
        }
        // Dotted digits are meant as an address even when malformed (`10.0.0`), which would otherwise pass as
        // a host name and never match.
        if host.allSatisfy({ $0 == "." || ($0.isASCII && $0.isNumber) }) {
            return .network(try IPNetwork(parsing: String(host)))
        }
        var name = host
        if name.hasSuffix(".") { name = name.dropLast() }
        if name.hasPrefix("*.") {
            let suffix = name.dropFirst(2)
            try validateName(suffix, in: text)
            return .subdomains(of: String(suffix))
        }
        if name.contains(where: { $0 == "*" }) {
            let tail = name.drop { $0 != "." }.drop { $0 == "." }
            throw .invalidArgument(
                "'\(text)' uses * inside a name; * can only stand for the leftmost labels, as in '*.\(tail.isEmpty ? "example.com" : String(tail))'"
            )
        }
        try validateName(name, in: text)
        return .name(String(name))
    }

    private static func validateName(_ name: Substring, in text: String) throws(PaddockError) {
        guard name.allSatisfy(\.isASCII) else {
            throw .invalidArgument("'\(text)' is not ASCII; write the host's punycode form (xn--…)")
        }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard name.utf8.count <= 253, !labels.contains(where: \.isEmpty) else {
            throw .invalidArgument("'\(text)' is not a valid host name; write one like api.example.com")
        }
        for label in labels {
            guard label.utf8.count <= 63,
                label.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }),
                label.first != "-", label.last != "-"
            else {
                throw .invalidArgument(
                    "'\(text)' is not a valid host name ('\(label)' is not a valid label: use letters, digits and "
                        + "inner hyphens, at most 63 characters); write one like api.example.com")
            }
        }
    }
}
