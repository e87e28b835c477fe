import Foundation
import PaddockCore

/// Where previews are served: port P of session ID is `<scheme>://P-ID.<domain>[:port]`.
public struct PreviewAddress: Sendable, Equatable {
    /// `http`, or `https` when the listener has a (wildcard) certificate.
    public var scheme: String
    /// `preview.localhost` by default: browsers resolve every name under `.localhost` to loopback.
    public var domain: String
    /// The port in URLs; nil for the scheme's default.
    public var port: Int?

    public init(scheme: String = "http", domain: String = "preview.localhost", port: Int? = nil) {
        self.scheme = scheme
        self.domain = domain.lowercased()
        self.port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443) ? nil : port
    }

    /// The host name of a session's port.
    public func host(session: SessionID, port: UInt16) -> String { "\(port)-\(session.rawValue).\(domain)" }

    /// The URL of `path` (which starts with `/`) on a session's port.
    public func url(session: SessionID, port: UInt16, path: String = "/") -> String {
        "\(scheme)://\(host(session: session, port: port))\(self.port.map { ":\($0)" } ?? "")\(path)"
    }

    /// The session and port a Host header names, or nil when it is not a preview host of this domain.
    public func target(ofHost header: String) -> (session: SessionID, port: UInt16)? {
        var name = header.lowercased()
        // `host:port`; an IPv6 literal is never a preview host.
        if let colon = name.lastIndex(of: ":"), !name.hasPrefix("[") { name = String(name[..<colon]) }
        if name.hasSuffix(".") { name.removeLast() }
        guard name.hasSuffix("." + domain) else { return nil }
        let label = name.dropLast(domain.count + 1)
        guard let dash = label.firstIndex(of: "-"), let port = UInt16(label[..<dash]), port > 0,
            let session = SessionID(rawValue: String(label[label.index(after: dash)...]))
        else { return nil }
        return (session, port)
    }
}
