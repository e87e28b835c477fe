import PaddockCore

/// The parts of an absolute-form request target (`http://host:port/path?query`) the gateway needs.
struct AbsoluteURL {
    let scheme: String
    let host: String
    let port: UInt16
    /// Path and query, `/` when empty.
    let path: String

    init?(_ text: String) {
        guard let separator = text.firstRange(of: "://") else { return nil }
        let scheme = text[..<separator.lowerBound].lowercased()
        let rest = text[separator.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        // Credentials in a URL are refused rather than forwarded or dropped silently.
        guard !authority.contains("@"),
            let (host, port) = Self.hostAndPort(String(authority), defaultPort: scheme == "https" ? 443 : 80)
        else { return nil }
        var path = String(rest[authorityEnd...])
        if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
        if path.isEmpty || path.first == "?" { path = "/" + path }
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
    }

    /// `host:port`, `[v6]:port`, or `host` when a default port is given; the host lowercased, no trailing dot.
    static func hostAndPort(_ text: String, defaultPort: UInt16?) -> (String, UInt16)? {
        var hostText = Substring(text)
        var portText: Substring?
        if hostText.first == "[" {
            guard let close = hostText.firstIndex(of: "]") else { return nil }
            let after = hostText[hostText.index(after: close)...]
            if after.first == ":" { portText = after.dropFirst() } else if !after.isEmpty { return nil }
            hostText = hostText[hostText.index(after: hostText.startIndex)..<close]
        } else if let colon = hostText.lastIndex(of: ":") {
            portText = hostText[hostText.index(after: colon)...]
            hostText = hostText[..<colon]
        }
        let host = normalizedHost(String(hostText))
        guard !host.isEmpty, !host.contains(where: { $0 == "/" || $0 == " " || $0 == "@" }) else { return nil }
        if let portText {
            guard let port = UInt16(portText), port > 0 else { return nil }
            return (host, port)
        }
        guard let defaultPort else { return nil }
        return (host, defaultPort)
    }

    static func normalizedHost(_ host: String) -> String {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }

    /// The host of a Host header value (`example.com:8080` → `example.com`).
    static func hostPart(of header: String) -> String {
        hostAndPort(header, defaultPort: 0).map(\.0) ?? normalizedHost(header)
    }

    static func authority(_ target: ProxyFrontStateMachine.Target) -> String {
        let host = target.host.contains(":") ? "[\(target.host)]" : target.host
        let standard: UInt16 = target.tls ? 443 : 80
        return target.port == standard ? host : "\(host):\(target.port)"
    }

    /// The path with its query values dropped, for the audit trail: a query can carry a token.
    static func redactingQuery(_ path: String) -> String {
        guard let question = path.firstIndex(of: "?") else { return path }
        return String(path[..<question]) + "?…"
    }
}
