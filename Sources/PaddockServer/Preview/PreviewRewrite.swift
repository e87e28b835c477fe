import Foundation

/// What the preview proxy changes in the messages it passes: Paddock's own credentials never reach the app,
/// the app learns who is looking and how the request came, and the app's cookies stay on its own host.
enum PreviewRewrite {
    /// Paddock's cookies: the preview host's grant and, should a browser send them, the UI's.
    static let paddockCookies: Set<String> = [PreviewProxy.cookieName, "paddock_session", "paddock_oidc"]

    /// Fields of one hop, or that only Paddock may set; the proxy sets its own where needed.
    static let requestFieldsRemoved: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "proxy-authorization", "expect",
        "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-real-ip",
        "x-paddock-viewer",
    ]

    /// The head the app receives.
    static func request(
        _ head: PreviewHTTPHead, stripAuthorization: Bool, forwardedFor: String?, proto: String, viewer: String
    ) -> PreviewHTTPHead {
        var out = head
        let upgrade = head.isWebSocketUpgrade
        let upgradeValue = head.value("Upgrade")
        out.startLine[2] = "HTTP/1.1"
        out.remove(requestFieldsRemoved)
        if stripAuthorization { out.remove(["authorization"]) }
        let cookies = head.values("Cookie").joined(separator: "; ")
        out.remove(["cookie"])
        let kept = keptCookies(cookies)
        if !kept.isEmpty { out.add("Cookie", kept) }
        // Otherwise the connection to the app stays open (HTTP/1.1's default) for the browser's next request.
        if upgrade, let upgradeValue {
            out.add("Connection", "Upgrade")
            out.add("Upgrade", upgradeValue)
        }
        if let host = head.value("Host") { out.add("X-Forwarded-Host", host) }
        out.add("X-Forwarded-Proto", proto)
        if let forwardedFor { out.add("X-Forwarded-For", forwardedFor) }
        out.add("X-Paddock-Viewer", viewer)
        return out
    }

    /// A `Cookie` header without Paddock's cookies.
    static func keptCookies(_ header: String) -> String {
        header.split(separator: ";").map(ASCII.trimmed).filter { pair in
            guard !pair.isEmpty else { return false }
            let name = pair.split(separator: "=", maxSplits: 1).first ?? pair[...]
            return !paddockCookies.contains(ASCII.trimmed(name))
        }.joined(separator: "; ")
    }

    /// The value of a named cookie in the request.
    static func cookie(_ name: String, in head: PreviewHTTPHead) -> String? {
        for header in head.values("Cookie") {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(ASCII.trimmed)
                if parts.count == 2, parts[0] == name { return parts[1] }
            }
        }
        return nil
    }

    /// The head the browser receives: `connection` decides whether the proxy keeps the connection; an app's
    /// cookie loses any `Domain`, so it stays on its own preview host and never reaches another session's.
    static func response(_ head: PreviewHTTPHead, keepAlive: Bool) -> PreviewHTTPHead {
        var out = head
        let upgraded = head.status == 101
        if !upgraded {
            out.remove(["connection", "keep-alive", "proxy-connection"])
            out.add("Connection", keepAlive ? "keep-alive" : "close")
        }
        out.fields = out.fields.map { field in
            guard ASCII.equalsIgnoringCase(field.name, "set-cookie") else { return field }
            return (field.name, hostOnly(field.value))
        }
        return out
    }

    /// A `Set-Cookie` value without its `Domain` attribute; one that tries to set Paddock's own cookie is
    /// renamed so it cannot shadow the grant.
    static func hostOnly(_ value: String) -> String {
        var parts = value.split(separator: ";", omittingEmptySubsequences: false).map(ASCII.trimmed)
        parts = [parts[0]] + parts.dropFirst().filter { !ASCII.lowercased($0).hasPrefix("domain") }
        let name = parts[0].split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
        if paddockCookies.contains(name) { parts[0] = "app_" + parts[0] }
        return parts.joined(separator: "; ")
    }

    /// `target` without the share link's parameter, and the parameter's value.
    static func removingParameter(_ name: String, from target: String) -> (target: String, value: String?) {
        guard let question = target.firstIndex(of: "?") else { return (target, nil) }
        let path = String(target[..<question])
        var value: String?
        let kept = target[target.index(after: question)...].split(separator: "&").filter { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.first.map(String.init) == name else { return true }
            value = parts.count == 2 ? String(parts[1]).removingPercentEncoding : ""
            return false
        }
        return (kept.isEmpty ? path : path + "?" + kept.joined(separator: "&"), value)
    }

    /// A query parameter's value.
    static func parameter(_ name: String, in target: String) -> String? {
        removingParameter(name, from: target).value
    }
}
